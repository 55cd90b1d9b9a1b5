"""Talk to the local Pizza Agent from a terminal, over real uAgents messages on loopback.

    python chat.py                      interactive
    python chat.py "I want pizza"       one shot: prints the agent's reply, exits 0
    python chat.py --seed ORGANIZER_SEED status

The public face of pizza_agent/app/chat_cli.py.
"""

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--version"]:
        from pizza_agent import __version__

        print(f"pizza-chat {__version__}")
        return 0
    from pizza_agent.app.chat_cli import chat_main

    return chat_main(argv)


if __name__ == "__main__":
    sys.exit(main())
