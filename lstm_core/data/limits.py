"""Resource caps on the reading path: bytes read, bytes unpacked, cells parsed.

Each is far above what a model trained in this app can use, and far below what would exhaust a
server's memory. Each module imports the caps it checks (a test lowers one in that module).
"""

from __future__ import annotations

MAX_BYTES = 200 * 1024 * 1024  # a file, before parsing
MAX_JSON_BYTES = 32 * 1024 * 1024  # JSON is parsed into Python objects (~10x its size)
MAX_UNZIPPED = 100 * 1024 * 1024  # an .xlsx is a zip: its sheets' XML, unpacked
MAX_ZIP_RATIO = 200  # a part over 1 MB unpacked more than this many times is a zip bomb
MAX_SHARED_STRINGS = 32 * 1024 * 1024  # an .xlsx's text cells, read whole when it is opened
MAX_XLSX_INDEX = 1024 * 1024  # workbook.xml and its relationships: sheet names and parts
MAX_XLSX_PART = 16 * 1024 * 1024  # any other XML part (styles, theme): parsed whole on opening
# rows x columns of a sheet as pandas pads it (every row as wide as the widest): 20 million
# padded cells took 16 s and 860 MB of memory, 5 million 10 s and 520 MB (imports included)
MAX_SHEET_CELLS = 5_000_000
MAX_JSON_OBJECTS = 1_000_000  # parsed objects cost ~150 bytes each: 4 million took 520 MB
MAX_CELLS = 20_000_000  # rows x columns of any table
MAX_COLUMNS = 10_000
MAX_HEADER = 1 << 20  # a CSV's first line: 10,000 column names of 100 characters
MAX_PARQUET_FOOTER = 32 * 1024 * 1024  # 50,000 columns in one row group: 9 MB, parsed in 0.8 s
MAX_ABS = 1e150  # larger magnitudes overflow a float64 when squared (variance, RMSE)
MAX_TIME_CHARS = 64  # the longest timestamp text is ~35 characters; longer cells are not times
SNIFF_ROWS = 200  # rows of a column tried as times before the whole column is parsed
MAX_SCALED = 1e9  # standardised values beyond this overflow float32 inside the network
