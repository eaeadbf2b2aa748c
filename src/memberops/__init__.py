"""memberops: a membership operations platform (会员运营平台)."""

__version__ = "0.1.0"
