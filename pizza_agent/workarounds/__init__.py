"""Every workaround for a uagents 0.26.1 defect, in one room, each reproduced by a test.

The only room that touches uagents' private attributes; docs/framework-defects.md
lists each defect, its reproduction, the workaround and the test.
"""
