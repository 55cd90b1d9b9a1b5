"""Talk to the local Pizza Agent from a terminal, over real uAgents messages on loopback.

    python chat.py                      interactive
    python chat.py "I want pizza"       one shot: prints the agent's reply, exits 0
    python chat.py --seed ORGANIZER_SEED status

The public face of pizza_agent/app/chat_cli.py.
"""

import sys

from pizza_agent.app.chat_cli import main

if __name__ == "__main__":
    sys.exit(main())
