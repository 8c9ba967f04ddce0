"""Writes tests/data/bad/: one small file per hostile input of issues 10 and 17 (run from the repo
root).

File names say how the CLI meets them: config-* via ``train demo:regimes --config``, checkpoint-*
via ``forecast demo:regimes --checkpoint``, data-* via ``train``. Re-running gives the same cases
(the tiny checkpoint they start from is trained with a fixed seed).
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import safetensors.torch
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lstm_core import checkpoint  # noqa: E402
from lstm_core.config import Config  # noqa: E402
from lstm_core.data import synthetic  # noqa: E402
from lstm_core.forecaster import Forecaster  # noqa: E402

OUT = ROOT / "tests" / "data" / "bad"


def alias_bomb(levels: int = 9) -> str:
    """One flow value holding the billion-laughs shape: each level 9 aliases of the one before
    (9**levels strings once expanded), anchors defined inside the value itself."""
    parts = ['&l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        parts.append(f"&l{i} [{','.join([f'*l{i - 1}'] * 9)}]")
    return "[" + ", ".join(parts) + "]"


CONFIGS: dict[str, str | bytes] = {
    "alias-bomb": "data: {lookback: " + alias_bomb() + "}\n",
    "alias-bomb-in-targets": "data: {targets: " + alias_bomb() + "}\n",
    "hidden-20000": "lstm: {hidden_size: 20000}\n",
    "hidden-1e6": "lstm: {hidden_size: 1000000}\n",
    "heads-999983": "lstm: {num_heads: 999983}\n",
    "heads-1e9": "lstm: {num_heads: 1000000000, hidden_size: null}\n",
    "lookback-1e9": "data: {lookback: 1000000000}\n",
    "horizon-1e8": "data: {horizon: 100000000}\n",
    "frequency-ms": "data: {frequency: ms}\n",
    "frequency-us": "data: {frequency: us}\n",
    "frequency-ns": "data: {frequency: ns}\n",
    "mixed-keys": "1: {}\nfoo: {}\n",  # two unknown keys: sorted() compared int and str
    "mixed-keys-in-section": "data: {1: 2, nope: 12}\n",
    "deep-5000": "data: " + "[" * 5000 + "]" * 5000 + "\n",
    "non-utf8": b'data: {time_col: "\xff\xfe\xfa"}\n',
    "seed-1e26": "training: {seed: 100000000000000000000000000}\n",
    "duplicate-keys": "data: {lookback: 12}\ndata: {lookback: 13}\n",
    "int-5000-digits": "training: {seed: " + "9" * 5000 + "}\n",
    "float-overflow": "training: {learning_rate: 1" + "0" * 400 + "}\n",
    "long-unknown-key": "data: {" + "k" * 20_000 + ": 1}\n",
    "long-value": "data: {time_col: " + "t" * 20_000 + "}\n",
}


def tiny_checkpoint() -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A real checkpoint small enough to commit: hidden 4, one layer, inputs y, x1, x2."""
    df, _ = synthetic(n=200, seed=0)
    cfg = Config().replace(
        data={
            "time_col": "time",
            "targets": ["y"],
            "covariates": ["x1", "x2"],
            "lookback": 16,
            "horizon": 4,
        },
        lstm={"hidden_size": 4, "num_layers": 1, "dropout": 0.0},
        training={"epochs": 1, "batch_size": 64},
    )
    fc = Forecaster(cfg).fit(df)
    with tempfile.TemporaryDirectory() as tmp:
        data = checkpoint.save(fc, "tiny", tmp).read_bytes()
    # the project's own readers: safetensors' parser (no pickle) and the checked header
    return checkpoint.read_safetensors(data), checkpoint._header(data, "tiny")["__metadata__"]


def with_config(meta: dict[str, str], **changes: dict) -> dict[str, str]:
    """The metadata with config keys changed, written as YAML text without validation."""
    import yaml

    raw = Config.from_yaml(meta["config"]).to_dict()
    for section, values in changes.items():
        raw[section].update(values)
    return {**meta, "config": yaml.safe_dump(raw, sort_keys=False)}


def checkpoints() -> dict[str, bytes]:
    tensors, meta = tiny_checkpoint()
    out: dict[str, bytes] = {}

    def put(name: str, t: dict, m: dict) -> None:
        out[name] = safetensors.torch.save(t, metadata=m)

    put("hidden-8000", tensors, with_config(meta, lstm={"hidden_size": 8000}))
    put("hidden-1e7", tensors, with_config(meta, lstm={"hidden_size": 10_000_000}))
    put("hidden-1000", tensors, with_config(meta, lstm={"hidden_size": 1000}))  # in range, wrong
    put("lookback-1e9", tensors, with_config(meta, data={"lookback": 1_000_000_000}))
    put("lookback-10000", tensors, with_config(meta, data={"lookback": 10_000}))
    put("horizon-1e8", tensors, with_config(meta, data={"horizon": 100_000_000}))
    put("hidden-null", tensors, with_config(meta, lstm={"hidden_size": None}))
    put("config-frequency-12345", tensors, with_config(meta, data={"frequency": 12345}))
    put("config-frequency-ns", tensors, with_config(meta, data={"frequency": "ns"}))
    put("frequency-12345", tensors, {**meta, "frequency": "12345"})
    put("alias-bomb", tensors, {**meta, "config": "data: {lookback: " + alias_bomb() + "}\n"})
    put("history-deep-json", tensors, {**meta, "history": "[" * 10_000 + "]" * 10_000})
    put(
        "scaler-inf",
        tensors,
        {**meta, "scaler": json.dumps({"mean": [0, 0, 0], "std": [1e999, 1, 1]})},
    )
    put("scaler-wrong-length", tensors, {**meta, "scaler": json.dumps({"mean": [0], "std": [1]})})
    put(
        "inputs-10001",
        tensors,
        {
            **meta,
            "columns": json.dumps(
                {"inputs": [f"c{i}" for i in range(10_001)], "targets": ["c0"], "time_col": None}
            ),
        },
    )
    nan = {k: v.clone() for k, v in tensors.items()}
    nan["head.weight"][0, 0] = float("nan")
    put("nan-weights", nan, {k: v for k, v in meta.items() if k != "weights_sha256"})
    inf = {k: v.clone() for k, v in tensors.items()}
    inf["encoder.query"].fill_(float("inf"))
    put("inf-weights", inf, meta)
    torn = {k: torch.zeros_like(v) if i > 1 else v for i, (k, v) in enumerate(tensors.items())}
    put("torn-zeros", torn, meta)  # what a killed save left: most tensors still zero
    ints = dict(tensors, **{"head.bias": tensors["head.bias"].to(torch.int64)})
    put("integer-tensor", ints, meta)
    good = safetensors.torch.save(tensors, metadata=meta)
    out["truncated"] = good[: len(good) // 2]
    out["header-length-2e63"] = (2**63).to_bytes(8, "little") + good[8:]
    out["header-not-json"] = len(b"{nope").to_bytes(8, "little") + b"{nope" + b"\0" * 64
    out["pickle"] = pickle.dumps({"state_dict": {"w": [1.0, 2.0]}})
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    out["torch-save-zip"] = buf.getvalue()
    return out


def xlsx_bomb(rows: int = 3_000_000) -> bytes:
    """A valid workbook whose one sheet holds millions of rows: ~150 KB packed, 150 MB of XML."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", (
            f'<Types xmlns="{pkg}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'worksheet+xml"/></Types>'))
        z.writestr("_rels/.rels", (
            f'<Relationships xmlns="{pkg}/relationships"><Relationship Id="r1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", (
            f'<workbook {ns} xmlns:r="{rel}"><sheets><sheet name="s" sheetId="1" r:id="r1"/>'
            "</sheets></workbook>"))
        z.writestr("xl/_rels/workbook.xml.rels", (
            f'<Relationships xmlns="{pkg}/relationships"><Relationship Id="r1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'))
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f"<worksheet {ns}><sheetData>".encode())
            row = b'<row><c t="n"><v>1</v></c><c t="n"><v>2</v></c></row>'
            for _ in range(rows // 10_000):
                sheet.write(row * 10_000)
            sheet.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def xlsx_far_cell(dimension: str | None = "A1:XFD1048576", far: str = "XFD1048576") -> bytes:
    """Issue 17's workbook: a two-column table and one value at ``far``, with the sheet's
    ``<dimension ref>`` set to ``dimension`` (a lie when it leaves ``far`` out; None: no tag)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["A2"], ws["B2"] = "t", "y", 1, 2
    ws[far] = 1
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as book:
        parts = {i.filename: book.read(i) for i in book.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    written = sheet[sheet.index("<dimension") : sheet.index("/>", sheet.index("<dimension")) + 2]
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        written, "" if dimension is None else f'<dimension ref="{dimension}" />'
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return out.getvalue()


def xlsx_shared_strings_bomb(strings: int = 5_000_000) -> bytes:
    """A workbook whose shared strings unpack to ~90 MB (under the 100 MB of the whole
    workbook) from ~100 KB: openpyxl reads them all when the workbook is opened."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_far_cell(None, "B3")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for i in base.infolist():
            book.writestr(i.filename, base.read(i))
        ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<sst xmlns="{ns}" uniqueCount="{strings}">'.encode())
            for _ in range(strings // 100_000):
                part.write(b"<si><t>lol</t></si>" * 100_000)
            part.write(b"</sst>")
    return out.getvalue()


def json_files() -> dict[str, bytes]:
    """Issue 17's JSON: 15,000 records with a key each (a 15,000 x 15,000 frame), as JSON and as
    JSON lines; columns of one value each at a different row; objects nested 10,000 deep."""
    records = [{f"k{i}": 1} for i in range(15_000)]
    return {
        "keys-15000.json": json.dumps(records).encode(),
        "keys-15000.jsonl": "\n".join(map(json.dumps, records)).encode(),
        "sparse-columns.json": json.dumps({f"c{i}": {str(i): 1} for i in range(8_000)}).encode(),
        "deep-objects.json": b'{"a": ' * 10_000 + b"1" + b"}" * 10_000,
    }


def data_files() -> dict[str, bytes]:
    days = pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d")
    rows = "".join(f"{d},{i % 7 + 0.5}\n" for i, d in enumerate(days))  # long enough to train
    csv = "time,value\n" + rows
    out = {
        "long-cell.csv": (csv + "2024-07-19 " + "a" * 256_000 + ",1.0\n").encode(),
        "single-line.csv": ("a," * 100_000 + "a\n").encode(),
        "sniffer-bomb.csv": ("a,b\n" + ',"' * 10_000 + "\n").encode(),
        "inf.csv": csv.replace(",3.5\n", ",inf\n", 1).encode(),
        "minus-inf.csv": csv.replace(",3.5\n", ",-inf\n", 1).encode(),
        "1e308.csv": csv.replace(",3.5\n", ",1e308\n", 1)
        .replace(",4.5\n", ",-1e308\n", 1)
        .encode(),
        "mixed-timezones.csv": (
            "time,value\n"
            + "".join(
                f"2024-01-01 {h:02d}:00{'+01:00' if h % 2 else ''},{h % 5}\n" for h in range(24)
            )
        ).encode(),
        "deep.json": ("[" * 10_000 + "]" * 10_000).encode(),
        "many-columns.csv": (
            ",".join(f"c{i}" for i in range(12_000))
            + "\n"
            + ",".join("1" for _ in range(12_000))
            + "\n"
        ).encode(),
    }
    book = io.BytesIO()  # every sheet empty
    with pd.ExcelWriter(book) as w:
        pd.DataFrame().to_excel(w, sheet_name="a")
        pd.DataFrame().to_excel(w, sheet_name="b")
    out["all-sheets-empty.xlsx"] = book.getvalue()
    out["unzip-bomb.xlsx"] = xlsx_bomb()
    out["xfd1048576.xlsx"] = xlsx_far_cell()
    out["xfd1048576-dimension-lies.xlsx"] = xlsx_far_cell("A1:B2")
    out["xfd1048576-no-dimension.xlsx"] = xlsx_far_cell(None)
    out["padded-6M-cells.xlsx"] = xlsx_far_cell(None, "F1048576")  # 1,048,576 rows x 6
    out["shared-strings-bomb.xlsx"] = xlsx_shared_strings_bomb()
    out.update(json_files())
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"v": pa.array(np.zeros(1_000_000))})
    pq_buf = io.BytesIO()
    with pq.ParquetWriter(pq_buf, table.schema, compression="zstd") as w:
        for _ in range(25):  # 25M rows of zeros: over the cell cap, a few hundred KB on disk
            w.write_table(table)
    out["25M-rows.parquet"] = pq_buf.getvalue()
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.iterdir():
        if p.is_file() and p.name != "README.md":
            p.unlink()
    for name, text in CONFIGS.items():
        (OUT / f"config-{name}.yaml").write_bytes(
            text if isinstance(text, bytes) else text.encode()
        )
    for name, data in checkpoints().items():
        ext = ".pt" if name in ("pickle", "torch-save-zip") else ".safetensors"
        (OUT / f"checkpoint-{name}{ext}").write_bytes(data)
    for name, data in data_files().items():
        (OUT / f"data-{name}").write_bytes(data)
    sizes = sorted((p.stat().st_size, p.name) for p in OUT.iterdir())
    print(f"{len(sizes)} files, {sum(s for s, _ in sizes) >> 10} KB; largest: {sizes[-3:]}")


if __name__ == "__main__":
    main()
