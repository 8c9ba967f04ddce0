"""Page labels: the checkpoint table, the device badge, the file stem of a typed name."""

from __future__ import annotations

from lstm_core.checkpoint import list_checkpoints, save
from ui.labels import checkpoint_stem, checkpoint_table, device_label, metrics_frame


def test_checkpoint_table_has_a_row_per_file(fitted, tmp_path):
    save(fitted, "a", tmp_path)
    (tmp_path / "broken.safetensors").write_bytes(b"not a checkpoint")
    table = checkpoint_table(list_checkpoints(tmp_path))
    assert set(table["name"]) == {"a", "broken"}
    row = table.set_index("name").loc["a"]
    assert (
        row["targets"] == "y"
        and row["lookback / horizon"] == "16 / 4"
        and float(row["backtest MAE"]) > 0
    )
    broken = table.set_index("name").loc["broken"]
    assert broken["problem"].startswith("unreadable") and broken["backtest MAE"] == "n/a"
    assert next(iter(metrics_frame(fitted.metrics_).index)) == "AttentiveLSTM"


def test_checkpoint_stem_keeps_the_whole_name():
    assert checkpoint_stem("etth2 OT/ 96→48") == "etth2_OT_96_48"
    assert checkpoint_stem("a\\b.safetensors") == "a_b"


def test_device_label_has_no_thread_count():
    assert device_label("CPU (2 threads)") == "CPU"
    assert device_label("NVIDIA H200 (139 GiB)") == "NVIDIA H200 (139 GiB)"
