"""Every workaround for a uagents 0.26.1 defect, in one room, each reproduced by a test
(tests/test_framework_defects.py).

May import: pizza_agent.config (and uagents).
"""
