"""`onnx-preflight scan`: a compatibility matrix for a whole model zoo (docs/scan.md).

Sources (sources, manifest) make a plan whose cells (plan) run isolated (worker) on an
executor (executors: local or Ray), through a results cache (cache), into matrix.json,
matrix.csv and index.html (matrix). `run_scan` (runner) ties them together."""

from analyzer.workflows.scan.plan import ScanPlan
from analyzer.workflows.scan.runner import Progress, ScanOptions, run_scan

__all__ = ["Progress", "ScanOptions", "ScanPlan", "run_scan"]
