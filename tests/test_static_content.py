"""Static content is data organizers edit; mistakes are named by file and entry."""

from __future__ import annotations

import random
import shutil

import pytest

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.domain.content import StaticContent, StaticContentError
from pizza_agent.domain.tiers import TIERS

SOURCE = PROJECT_DIR / "static_content"


@pytest.fixture
def content_dir(tmp_path):
    target = tmp_path / "static_content"
    shutil.copytree(SOURCE, target)
    return target


def test_shipped_content_is_valid_and_rich_enough():
    content = StaticContent.load(SOURCE)
    assert len(content.prompts) >= 10
    assert set(content.templates) == set(TIERS)


def test_every_template_renders_with_the_code():
    content = StaticContent.load(SOURCE)
    for tier, templates in content.templates.items():
        for template in templates:
            text = template.format(story_detail="a laptop", score=7, tier=tier, code="CODE-1")
            assert "CODE-1" in text


def test_pick_prompt_avoids_prompts_already_given():
    content = StaticContent.load(SOURCE)
    rng = random.Random(1)
    given: set[str] = set()
    for _ in range(len(content.prompts)):
        prompt = content.pick_prompt(given, rng)
        assert prompt not in given
        given.add(prompt)
    assert content.pick_prompt(given, rng) in content.prompts  # all used: repeats allowed


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I want pizza", "pizza_request"),
        ("hello", "greeting"),
        ("help", "help"),
        ("how does this work?", "help"),
        ("blorp", "other"),
        ("The laptop ate my code.", "story"),  # too short, and told so
        ("what are the prizes tonight?", "help"),  # a question gets the explanation
        ("At midnight the servers hummed and my team finally shipped the demo with pizza.", "story"),
    ],
)
def test_keyword_intent(text, kind):
    assert StaticContent.load(SOURCE).keyword_intent(text, story_min_chars=40).kind == kind


def test_too_few_prompts_is_named(content_dir):
    (content_dir / "prompts.toml").write_text('prompts = ["only one prompt that is long enough"]\n')
    with pytest.raises(StaticContentError, match=r"prompts\.toml: 'prompts' needs at least 10"):
        StaticContent.load(content_dir)


def test_template_without_code_is_named(content_dir):
    path = content_dir / "replies.toml"
    path.write_text(path.read_text().replace("Your {tier} pizza coupon: {code}", "Your {tier} pizza!", 1))
    with pytest.raises(StaticContentError, match=r"replies\.toml: \[basic\] templates\[1\] must contain \{code\}"):
        StaticContent.load(content_dir)


def test_unknown_placeholder_is_named(content_dir):
    path = content_dir / "messages.toml"
    path.write_text(path.read_text().replace("at least {min_chars}", "at least {minimum}"))
    with pytest.raises(StaticContentError, match=r"messages\.toml: story_too_short uses unknown placeholder"):
        StaticContent.load(content_dir)


def test_broken_toml_is_named(content_dir):
    (content_dir / "intents.toml").write_text("[help\nkeywords = ")
    with pytest.raises(StaticContentError, match=r"intents\.toml: not valid TOML"):
        StaticContent.load(content_dir)


@pytest.mark.slow  # agent.py
def test_agent_py_names_a_broken_content_file_in_one_line(content_dir, tmp_path):
    import subprocess
    import sys

    from pizza_agent.rehearsal.agent_process import base_env

    (content_dir / "prompts.toml").write_text("prompts = []\n")
    env = base_env(tmp_path / "data", STATIC_CONTENT_DIR=str(content_dir))
    started = subprocess.run([sys.executable, str(PROJECT_DIR / "agent.py")], env=env, capture_output=True, text=True)
    assert started.returncode == 2  # the agent refuses to start, in one line
    assert started.stderr.strip() == "prompts.toml: 'prompts' must be a non-empty list of strings"
    checked = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "--check-config"], env=env, capture_output=True, text=True
    )
    assert checked.returncode == 2  # check says it once, on its FAIL line
    assert checked.stdout.count("prompts.toml: 'prompts' must be a non-empty list of strings") == 1
