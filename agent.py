"""Pizza Agent: a uAgents chat agent that trades short stories for pizza coupons.

    python agent.py                 start the agent (local mode unless AGENT_MODE=agentverse)
    python agent.py verify CODE     is CODE a valid, issued coupon? (exit 0 only if so)
    python agent.py redeem CODE     mark CODE redeemed, once (exit 0 only the first time)
    python agent.py --check-config  validate the configuration and exit
    python agent.py drill           the outage drill (pizza_agent/rehearsal/drill.py)

The public face of the command line (pizza_agent/app/cli.py). The drill is
dispatched here, so the running agent never imports the rehearsal tools.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--version"]:
        from pizza_agent import __version__

        print(f"pizza-agent {__version__}")
        return 0
    if not argv or argv[:1] in (["run"], ["check"], ["--check-config"]):
        # Before importing anything that needs them: one line per missing package, not a traceback.
        from pizza_agent.app.dependencies import missing

        lines = missing()
        if lines:
            print("\n".join(lines), file=sys.stderr)
            return 2
    if argv[:1] == ["drill"]:
        from pizza_agent.rehearsal.drill import main as drill_main  # it starts providers and participants

        return drill_main(argv[1:])
    from pizza_agent.app.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
