"""Refused actions in the operator's language: every code the domains raise has an English
and a Chinese title (a new code without one fails here); a Chinese-speaking operator reads
the title, with the English specifics after it; an English one reads the detail as before."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import memberops
from memberops.api.errors import HTTP_CODES
from memberops.console import problems
from memberops.coupons import rules as coupon_rules
from memberops.errors import DomainError, InsufficientBalance, RuleViolated
from memberops.members import rules as member_rules
from memberops.wallet import service as wallet_service
from tests.console.conftest import Console
from tests.console.test_review import OTHER_REVIEWER, decide, held, recharge_state
from tests.wallet_helpers import new_member

SOURCE = Path(memberops.__file__).parent
CODE = re.compile(r"[a-z][a-z_]*[a-z]")
# The helpers that build a DomainError from a code given as their n-th positional argument.
CODE_ARGUMENT = {"field_error": 2, "_refuse": 1, "_bad": 1}
# The calls that raise with a code flowing in from elsewhere, and where it comes from.
FLOWING_CODES = {
    "code": "the helper's own parameter (its callers' literals are read)",
    'f"{field}_reused"': "the unique field named by flush_unique / insert_unique",
    "problem.reason": "the row problems of a coupon issue",
    "refusal.reason": "the coupon refusal reasons",
    "rules.USED": "a coupon refusal reason",
    'f"member_{member.status}"': "a member status other than active",
}
UNIQUE_FIELD_HELPERS = {"flush_unique": 3, "insert_unique": 3, "_flush_unique": 1}


def _error_names() -> set[str]:
    """The DomainError classes (ours and the API's) and the helpers that make one."""
    names = set(CODE_ARGUMENT)

    def walk(cls: type[DomainError]) -> None:
        names.add(cls.__name__)
        for sub in cls.__subclasses__():
            walk(sub)
    import memberops.api.deps  # noqa: F401  (defines RateLimited)
    walk(DomainError)
    return names


def _calls() -> Iterator[tuple[Path, ast.Call, bool]]:
    """Every call in the package, and whether it is what a `raise` raises."""
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        raised = {id(node.exc) for node in ast.walk(tree)
                  if isinstance(node, ast.Raise) and node.exc is not None}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                yield path, node, id(node) in raised


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _text(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
        else None


def _literal_codes() -> tuple[set[str], list[str]]:
    """The codes written at raise sites, and any code flowing from an unknown source."""
    errors, codes, unknown = _error_names(), set[str](), list[str]()
    for path, call, is_raised in _calls():
        name = _name(call)
        if name not in errors and not is_raised:
            continue
        position = CODE_ARGUMENT.get(name)
        if position is not None and len(call.args) > position \
                and (text := _text(call.args[position])) is not None:
            codes.add(text)
        for keyword in call.keywords:
            if keyword.arg != "code":
                continue
            if (text := _text(keyword.value)) is not None:
                codes.add(text)
            elif ast.unparse(keyword.value).replace("'", '"') not in FLOWING_CODES:
                unknown.append(f"{path.relative_to(SOURCE)}:{call.lineno} "
                               f"code={ast.unparse(keyword.value)}")
    return codes, unknown


def _default_codes() -> set[str]:
    found = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "default_code" for t in node.targets):
                text = _text(node.value)
                assert text is not None, f"{path}: default_code is not a literal"
                found.add(text)
    return found


def _flowing_codes() -> set[str]:
    """The codes that reach a raise through a variable (see FLOWING_CODES)."""
    codes = set(coupon_rules.REASONS)
    codes |= {f"member_{status}" for status in member_rules.STATUSES if status != "active"}
    for _path, call, _ in _calls():
        position = UNIQUE_FIELD_HELPERS.get(_name(call))
        if position is not None and len(call.args) > position \
                and (text := _text(call.args[position])) is not None:
            codes.add(f"{text}_reused")
    issue = SOURCE / "coupons" / "service" / "issue.py"
    for node in ast.walk(ast.parse(issue.read_text(encoding="utf-8"))):
        # A row problem is a (reason, detail) pair, or RowProblem(line, member, reason, …).
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            text = _text(node.elts[0])
        elif isinstance(node, ast.Call) and _name(node) == "RowProblem" and len(node.args) > 2:
            text = _text(node.args[2])
        else:
            continue
        if text is not None and CODE.fullmatch(text):
            codes.add(text)
    return codes


def raised_codes() -> set[str]:
    literal, unknown = _literal_codes()
    assert not unknown, ("a code reaches a raise from a source this test cannot read; "
                         f"add it to FLOWING_CODES with its expansion: {unknown}")
    return literal | _default_codes() | _flowing_codes()


def test_the_scan_finds_the_codes_of_every_kind_of_raise_site() -> None:
    codes = raised_codes()
    assert {"insufficient_balance", "rate_limited",  # default codes, ours and the API's
            "review_already_decided",  # code="…"
            "duplicate_sku", "import_empty", "empty_data",  # a helper's positional code
            "cash_out_ref_reused",  # f"{field}_reused"
            "coupon_expired", "coupon_limit_reached", "member_frozen",  # flowing codes
            } <= codes
    assert len(codes) > 120


def test_every_raised_code_has_a_title_in_both_languages() -> None:
    missing = sorted(raised_codes() - problems.TITLES.keys())
    assert not missing, f"codes without a title in console/problems.py: {missing}"


def test_the_api_codes_have_titles_too() -> None:
    assert not set(HTTP_CODES.values()) - problems.TITLES.keys()
    assert "malformed_json" in problems.TITLES


@pytest.mark.parametrize("code", sorted(problems.TITLES))
def test_each_title_is_a_sentence_in_each_language(code: str) -> None:
    english, chinese = problems.TITLES[code]
    assert english[0].isupper() and english.endswith(".") and english.isascii()
    assert chinese.endswith("。") and re.search(r"[\u4e00-\u9fff]", chinese)


# --- text(): a known and an unknown code, in each language -------------------------------

@pytest.fixture
def speaking(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Choose the language as a signed-in operator's browser storage would."""
    def choose(language: str) -> None:
        monkeypatch.setattr(problems, "language", lambda: language)
        monkeypatch.setattr("memberops.console.i18n.language", lambda: language)
    yield choose


def test_a_known_code_reads_its_chinese_title_and_the_english_specifics(speaking) -> None:
    exc = InsufficientBalance("the member has 10 points available, 50 asked for",
                              code="insufficient_points")
    speaking("zh-CN")
    assert problems.text(exc) == \
        "未完成：会员积分不足（the member has 10 points available, 50 asked for）"
    speaking("en")
    assert problems.text(exc) == "Not done: the member has 10 points available, 50 asked for"


def test_a_detail_that_only_repeats_the_title_is_not_repeated(speaking) -> None:
    speaking("zh-CN")
    exc = RuleViolated("A member cannot refer themselves.", code="self_referral")
    assert problems.text(exc) == "未完成：会员不能推荐自己。"
    assert problems.text(InsufficientBalance("")) == "未完成：余额不足。"


def test_an_unknown_code_reads_as_before(speaking) -> None:
    exc = RuleViolated("the moon is full", code="moon_is_full")
    speaking("zh-CN")
    assert problems.text(exc) == "未完成：the moon is full"
    assert problems.detail(exc) == "the moon is full"
    speaking("en")
    assert problems.text(exc) == "Not done: the moon is full"


# --- on a page: the review queue deciding a recharge someone else decided -------------------

async def _decided_elsewhere(app: Console, language: str) -> int:
    member = new_member(app.make_uow, 1, name="张三")
    recharge = held(app, member, 5_000, "big-1")
    await app.sign_in("finance", language=language, then="/review")
    with app.make_uow(OTHER_REVIEWER) as uow:
        wallet_service.approve(uow, recharge, "approved elsewhere")
    return recharge


@pytest.mark.anyio
async def test_a_chinese_operator_reads_the_refusal_in_chinese(console_app: Console) -> None:
    recharge = await _decided_elsewhere(console_app, "zh-CN")
    await decide(console_app, "approve", recharge, "我的决定")
    await console_app.user.should_see(
        f"未完成：该充值已审核过（recharge {recharge} was already approved by "
        "operator:other-finance）")
    await console_app.user.should_not_see("Not done")
    assert recharge_state(console_app, recharge) == ("settled", "approved")


@pytest.mark.anyio
async def test_an_english_operator_reads_the_detail(console_app: Console) -> None:
    recharge = await _decided_elsewhere(console_app, "en")
    await decide(console_app, "approve", recharge, "my decision")
    await console_app.user.should_see(
        f"Not done: recharge {recharge} was already approved by operator:other-finance")
    await console_app.user.should_not_see("该充值已审核过")
    assert recharge_state(console_app, recharge) == ("settled", "approved")
