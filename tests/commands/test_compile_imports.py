"""compile must stay fast: its path never imports the Azure SDK (nor python-hcl2's parser)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_compile_imports_no_azure_module(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from aibpack.cli import main\n"
        "try:\n"
        f"    main(['compile', {str(EXAMPLES / 'linux-gallery.json')!r}, '-o', {str(tmp_path)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "loaded = sorted(m for m in sys.modules if m == 'azure' or m.startswith(('azure.', 'hcl2', 'lark')))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
    assert (tmp_path / "ubuntu2204-golden.pkr.hcl").is_file()
