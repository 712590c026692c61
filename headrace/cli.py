"""The ``headrace`` command line.

    headrace dev [-u URL ...]        everything in one process, on an embedded Postgres and broker
    headrace run <service>           one service, configured by HEADRACE_… variables

The server side needs the ``[server]`` extra; it is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import sys

SERVICES = ("ingest", "matcher", "executor", "scheduler", "api")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="headrace", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser(
        "dev", help="run the dev server: all services, embedded Postgres and broker"
    )
    dev.add_argument(
        "-u",
        "--app-url",
        action="append",
        default=[],
        metavar="URL",
        help="an app to sync (repeatable); retried until it answers",
    )
    dev.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    dev.add_argument("-p", "--port", type=int, default=None, help="port (default 8288)")
    dev.add_argument(
        "--data-dir",
        default=None,
        help="where the embedded Postgres keeps its data (default .headrace)",
    )
    dev.add_argument(
        "--database-url", default=None, help="use this Postgres instead of the embedded one"
    )
    dev.add_argument(
        "--kafka",
        default=None,
        metavar="BOOTSTRAP",
        help="use this Kafka (host:port) instead of the embedded broker",
    )

    run = sub.add_parser("run", help="run one service (the production shape)")
    run.add_argument("service", choices=SERVICES)

    args = parser.parse_args(argv)
    try:
        from services import launch
    except ImportError as exc:  # the [server] extra is missing
        print(
            f"headrace: the server needs the [server] extra: pip install 'headrace[server]' "
            f"({exc})",
            file=sys.stderr,
        )
        return 2
    from services.core.embedded import BrokerError, PostgresError
    from services.core.errors import HeadraceError

    try:
        if args.command == "dev":
            return launch.run_dev(
                app_urls=args.app_url,
                host=args.host,
                port=args.port,
                data_dir=args.data_dir,
                database_url=args.database_url,
                kafka=args.kafka,
            )
        return launch.run_service(args.service)
    except HeadraceError as exc:
        print(f"headrace: {exc.message}", file=sys.stderr)
        return 1
    except (PostgresError, BrokerError) as exc:
        print(f"headrace: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
