"""ASI1, Fetch.ai's OpenAI-compatible API: the client and the story scorer.

`ASI1Client` is the provider the fallback chain uses (the openai SDK at ASI1's base URL); `score_story`
scores a story 1-10 through ASI1, with the local heuristic only while ASI1 is
down. The code lives in `pizza_agent.llm`; this module is its public face.
"""

from pizza_agent.llm.asi1_provider import ASI1Client
from pizza_agent.llm.public_api import score_story

__all__ = ["ASI1Client", "score_story"]
