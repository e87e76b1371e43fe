"""`nasplug bench nasbench201` on the shared table, with its results stamped.

Runs `nasplug bench nasbench201 --table DATA/nasbench201/cifar10.csv.gz ARGS` (every
argument after the script's own is `nasplug bench nasbench201`'s: `--budget`, `--runs`,
`--strategies`, `--objectives`, ...), prints `benchmarks/common.py`'s stamp before the
table, and stamps the `--json` file it writes. Both NAS-Bench-201 studies use it
(`benchmarks/studies/nasbench201/`, `benchmarks/studies/nasbench201_pareto/`).

    python benchmarks/studies/nasbench201/run.py --budget 12000 --runs 500 \\
        --strategies predictor,random,greedy --json nb201.json > nb201.txt
"""

import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
from benchmarks import common  # noqa: E402
from nasplug import cli  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_data_argument(parser)
    parser.add_argument("--table", default="cifar10.csv.gz", help="a file of DATA/nasbench201")
    parser.add_argument("--json", metavar="OUT", help="write the stamped results as JSON")
    args, rest = parser.parse_known_args(argv)
    table = common.data_file(args.data, "nasbench201", args.table)
    print(common.header(), flush=True)
    command = ["bench", "nasbench201", "--table", str(table), *rest]
    if args.json:
        command += ["--json", args.json]
    status = cli.main(command)
    if status == 0 and args.json:
        path = pathlib.Path(args.json)
        results = json.loads(path.read_text())
        # The table as the data folder names it, not as this machine's path.
        results["table"] = f"nasbench201/{args.table}"
        path.write_text(json.dumps(common.stamped(results), indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
