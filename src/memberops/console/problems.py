"""A refused action told in the operator's language.

Every DomainError carries a stable machine `code` and an English `detail` with the
specifics (amounts, names, ids). An operator reading Chinese gets the code's title in
Chinese, followed by the English detail in parentheses for the specifics; an operator
reading English gets the detail as the API gives it. A code without a title here falls
back to the detail alone (tests/console/test_problems.py fails on such a code).
"""

from __future__ import annotations

from memberops.console.i18n import language, t
from memberops.errors import DomainError

# code → (English title, 中文标题): what went wrong, in one sentence an operator understands.
TITLES: dict[str, tuple[str, str]] = {
    # --- generic (the error classes' default codes, and the API's own) ---------------------
    "bad_request": ("The request is not valid.", "请求无效。"),
    "validation_error": ("Some input is not valid.", "输入的内容无效。"),
    "not_found": ("It was not found.", "未找到。"),
    "conflict": ("It conflicts with what is already recorded.", "与已有记录冲突。"),
    "rule_violated": ("A business rule does not allow this.", "业务规则不允许此操作。"),
    "insufficient_balance": ("The balance is not enough.", "余额不足。"),
    "forbidden": ("Your role may not do this.", "您的角色无权执行此操作。"),
    "unauthenticated": ("Please sign in again.", "请重新登录。"),
    "rate_limited": ("Too many requests; try again shortly.", "请求过于频繁，请稍后再试。"),
    "schema_out_of_date": ("The database is not at this version's schema.",
                           "数据库结构与当前版本不一致。"),
    "idempotency_key_reused": ("This request key was already used for another request.",
                               "该请求标识已用于另一项请求。"),
    "request_in_progress": ("The same request is still being processed.",
                            "相同的请求仍在处理中。"),
    "idempotency_key_required": ("This request needs an idempotency key.",
                                 "此请求需要提供幂等键。"),
    "idempotency_key_invalid": ("The idempotency key is not valid.", "幂等键无效。"),
    "method_not_allowed": ("This operation is not supported here.", "此处不支持该操作。"),
    "payload_too_large": ("The upload is too large.", "上传内容过大。"),
    "unsupported_media_type": ("The file or content type is not supported.",
                               "不支持该文件或内容类型。"),
    "malformed_json": ("The request is not valid JSON.", "请求不是有效的 JSON。"),
    "internal_error": ("An unexpected error occurred; it has been logged.",
                       "发生意外错误，已记录日志。"),
    "unavailable": ("The service is unavailable for now.", "服务暂时不可用。"),
    "http_error": ("The request could not be served.", "无法处理该请求。"),
    # --- paging, sorting and filters -------------------------------------------------------
    "invalid_cursor": ("The page position is no longer valid; start from the first page.",
                       "分页位置已失效，请从第一页重新开始。"),
    "invalid_limit": ("The page size is out of range.", "每页条数超出范围。"),
    "invalid_offset": ("The page offset is not valid.", "分页偏移量无效。"),
    "invalid_sort": ("This sort order is not available.", "不支持该排序方式。"),
    "invalid_status": ("This status filter is not known.", "未知的状态筛选条件。"),
    "invalid_reason": ("This reason filter is not known.", "未知的原因筛选条件。"),
    "invalid_phone_ending": ("Give the last 3 to 15 digits of a phone number.",
                             "请输入手机号的后 3 至 15 位数字。"),
    # --- operators, access and the console -------------------------------------------------
    "no_console": ("A till account has no console; sign in at the till.",
                   "收银账号不能使用后台，请在收银台登录。"),
    "operator_exists": ("An operator with this username already exists.",
                        "该用户名的操作员已存在。"),
    "already_revoked": ("This API key is already revoked.", "该 API 密钥已被吊销。"),
    "not_a_demo_database": ("That file is not a demo database; it was left untouched.",
                            "该文件不是演示数据库，未做任何改动。"),
    # --- members ---------------------------------------------------------------------------
    "member_not_found": ("The member was not found.", "未找到该会员。"),
    "member_exists": ("A member with this phone number already exists.", "该手机号的会员已存在。"),
    "member_frozen": ("The member is frozen.", "该会员已被冻结。"),
    "member_closed": ("The member's account is closed.", "该会员账户已注销。"),
    "invalid_status_change": ("The member's status cannot change this way.",
                              "会员状态不能这样变更。"),
    "referrer_not_found": ("The referring member does not exist.", "推荐人会员不存在。"),
    "self_referral": ("A member cannot refer themselves.", "会员不能推荐自己。"),
    "referral_cycle": ("This referral would make a loop.", "该推荐关系会形成循环。"),
    "too_many_tags": ("The member has the most tags allowed.", "该会员的标签数已达上限。"),
    "tag_not_found": ("The member has no such tag.", "该会员没有此标签。"),
    "import_encoding": ("The file is neither UTF-8 nor GBK text.",
                        "文件编码既不是 UTF-8 也不是 GBK。"),
    "import_header": ("The file's header row is not valid.", "文件的表头无效。"),
    "import_unreadable": ("The file cannot be read as CSV.", "无法按 CSV 读取该文件。"),
    "import_empty": ("The file has no members to import.", "文件中没有可导入的会员。"),
    "import_invalid": ("Some rows are invalid; nothing was imported.",
                       "部分行无效，未导入任何数据。"),
    # --- tiers -----------------------------------------------------------------------------
    "tier_not_found": ("This tier is not in the ladder.", "等级体系中没有该等级。"),
    "unknown_tier": ("This tier is not in the ladder.", "等级体系中没有该等级。"),
    "floor_not_found": ("The member has no tier floor.", "该会员没有保级设置。"),
    "floor_too_low": ("A tier floor must be above the lowest tier.", "保级等级必须高于最低等级。"),
    "floor_end_not_in_future": ("A tier floor must end after today.", "保级结束日期必须晚于今天。"),
    "tier_activity_reused": ("This activity reference was already recorded differently.",
                             "该活动编号已有不同的记录。"),
    "as_of_in_future": ("The date is in the future.", "日期不能晚于今天。"),
    # --- points ----------------------------------------------------------------------------
    "insufficient_points": ("The member does not have enough points.", "会员积分不足。"),
    "points_over_share": ("Points may not pay that much of the order.",
                          "积分抵扣超过了允许的比例。"),
    "points_already_earned": ("This purchase already earned its points.", "该笔消费已获得过积分。"),
    "earning_not_found": ("This purchase earned no points.", "该笔消费没有获得积分。"),
    "already_clawed_back": ("The points of this purchase were already taken back.",
                            "该笔消费的积分已被扣回。"),
    "spend_not_found": ("No points were used with this reference.", "该编号下没有使用积分。"),
    "ambiguous_reference": ("This reference belongs to several members.", "该编号对应多个会员。"),
    "already_returned": ("These points were already returned.", "这些积分已经退回。"),
    "return_exceeds_spent": ("More points than were used cannot be returned.",
                             "退回的积分不能多于已使用的积分。"),
    "referred_member_not_found": ("The referred member was not found.", "未找到被推荐的会员。"),
    "not_referred": ("This member was not referred by that member.", "该会员不是由此会员推荐的。"),
    "bonus_already_claimed": ("The member already had this bonus.", "该会员已获得过此奖励。"),
    "bonus_cap_reached": ("The member reached the limit for this bonus.",
                          "该会员已达此奖励的上限。"),
    "unknown_bonus_action": ("This bonus action is not configured.", "未配置该奖励行为。"),
    "gift_not_found": ("The gift was not found.", "未找到该礼品。"),
    "gift_exists": ("A gift with this SKU already exists.", "该 SKU 的礼品已存在。"),
    "gift_inactive": ("This gift is not offered at the moment.", "该礼品目前不可兑换。"),
    "out_of_stock": ("The gift is out of stock.", "礼品库存不足。"),
    "redemption_ref_used": ("This redemption reference was already used.", "该兑换编号已被使用。"),
    # --- wallet and recharges --------------------------------------------------------------
    "balance_cap_exceeded": ("The wallet would go above its balance cap.", "储值余额将超过上限。"),
    "recharge_not_found": ("The recharge was not found.", "未找到该充值记录。"),
    "recharge_not_held": ("This recharge is not held for review.", "该充值不在待审核状态。"),
    "review_already_decided": ("This recharge was already reviewed.", "该充值已审核过。"),
    "recharges_outstanding": ("A recharge is still awaiting payment or review.",
                              "还有充值在等待付款或审核。"),
    "payment_not_found": ("The payment was not found.", "未找到该支付记录。"),
    "payment_outcome_conflict": ("This payment's outcome was already recorded.",
                                 "该支付结果已经记录。"),
    "payment_ref_reused": ("This payment reference was already used.", "该支付编号已被使用。"),
    "refund_ref_reused": ("This refund reference was already used.", "该退款编号已被使用。"),
    "cash_out_ref_reused": ("This cash-out reference was already used.", "该提现编号已被使用。"),
    "refund_exceeds_payment": ("The refund is more than what is left of the payment.",
                               "退款金额超过了该笔支付的剩余金额。"),
    # --- orders ----------------------------------------------------------------------------
    "order_not_found": ("The order was not found.", "未找到该订单。"),
    "order_ref_reused": ("This order reference was already used.", "该订单编号已被使用。"),
    "duplicate_sku": ("An item is listed twice.", "同一商品重复列出。"),
    "sku_not_in_order": ("An item is not in the order.", "该商品不在订单中。"),
    "wallet_over_payable": ("The wallet amount is more than what is left to pay.",
                            "储值支付金额超过了待付金额。"),
    "order_fully_refunded": ("The order is already fully refunded.", "该订单已全额退款。"),
    "refund_exceeds_order": ("The refund is more than what was paid.", "退款金额超过了实付金额。"),
    "refund_exceeds_items": ("More items than were bought or are left cannot be refunded.",
                             "退货数量超过了可退数量。"),
    "refund_nothing": ("There is nothing to refund.", "没有可退的金额。"),
    # --- coupons ---------------------------------------------------------------------------
    "coupon_not_found": ("The coupon was not found.", "未找到该优惠券。"),
    "coupon_expired": ("The coupon has expired.", "优惠券已过期。"),
    "coupon_not_yet_valid": ("The coupon is not valid yet.", "优惠券尚未生效。"),
    "coupon_used": ("The coupon was already used.", "优惠券已被使用。"),
    "coupon_not_owned": ("The coupon belongs to another member.", "该优惠券属于其他会员。"),
    "coupon_threshold_not_met": ("The order does not reach the coupon's minimum spend.",
                                 "订单金额未达到优惠券的使用门槛。"),
    "coupon_tier_ineligible": ("The member's tier may not use this coupon.",
                               "该会员的等级不能使用此优惠券。"),
    "coupon_first_order_only": ("This coupon is for a first order only.", "该优惠券仅限首单使用。"),
    "coupon_not_stackable": ("These coupons cannot be combined.", "这些优惠券不能叠加使用。"),
    "coupon_no_shipping_fee": ("The order has no shipping fee to take off.",
                               "订单没有可减免的运费。"),
    "coupon_no_birthday": ("The member has no birthday on file.", "该会员没有登记生日。"),
    "coupon_limit_reached": ("The member already holds as many of this coupon as allowed.",
                             "该会员持有此券已达上限。"),
    "coupon_budget_exhausted": ("The coupon's budget is used up.", "优惠券的发放额度已用完。"),
    "coupon_already_issued": ("These coupons were issued at the same time by another request.",
                              "这些优惠券已由另一请求同时发放。"),
    "duplicate_member": ("A member is listed more than once.", "同一会员被重复列出。"),
    "coupon_template_not_found": ("The coupon template was not found.", "未找到该优惠券模板。"),
    "coupon_template_exists": ("A coupon template with this code already exists.",
                               "该编码的优惠券模板已存在。"),
    "coupon_template_in_use": ("Coupons were issued from this template; its terms can no "
                               "longer change.", "该模板已发放优惠券，其条款不能再修改。"),
    "coupon_template_paused": ("The coupon template is paused.", "该优惠券模板已暂停。"),
    "coupon_template_ended": ("The coupon template has ended.", "该优惠券模板已结束。"),
    "list_encoding": ("The file is neither UTF-8 nor GBK text.",
                      "文件编码既不是 UTF-8 也不是 GBK。"),
    "list_empty": ("The list names no members.", "名单中没有会员。"),
    "list_header": ("The file has no member ID or phone column.", "文件中没有会员编号或手机号列。"),
    "list_too_long": ("The file lists too many members.", "文件中的会员数量过多。"),
    # --- paid membership (PLUS) ------------------------------------------------------------
    "unknown_plan": ("This plan is not known.", "未知的付费会员方案。"),
    "plan_not_on_sale": ("This plan is not on sale.", "该付费会员方案未在售。"),
    "price_mismatch": ("The amount does not match the plan's price.", "金额与方案价格不符。"),
    "other_plan_in_force": ("The member holds another plan until it ends.",
                            "该会员持有的其他方案尚未到期。"),
    "plus_not_found": ("The member has no paid membership.", "该会员没有付费会员。"),
    "plus_not_active": ("The member's paid membership is not in force.",
                        "该会员的付费会员未生效。"),
    "plus_already_cancelled": ("The paid membership was already cancelled.", "付费会员已被取消。"),
    "refund_not_found": ("The refund was not found.", "未找到该退款。"),
    "refund_already_settled": ("This refund was already settled.", "该退款已处理完毕。"),
    # --- segments --------------------------------------------------------------------------
    "segment_not_found": ("The segment was not found.", "未找到该人群。"),
    "segment_exists": ("A segment with this name already exists.", "同名人群已存在。"),
    "segment_has_snapshots": ("The segment has snapshots kept for campaigns; it cannot be "
                              "deleted.", "该人群有供营销活动使用的快照，不能删除。"),
    "snapshot_not_found": ("The snapshot was not found.", "未找到该快照。"),
    # --- ledger ----------------------------------------------------------------------------
    "invalid_posting": ("The ledger entry is not valid.", "账务分录无效。"),
    "ledger_conflict": ("This ledger entry was already recorded.", "该账务分录已记录。"),
    "already_reversed": ("This ledger entry was already reversed.", "该账务分录已被冲正。"),
    "reversal_of_reversal": ("A reversal cannot itself be reversed.", "冲正分录不能再次冲正。"),
    "hold_resolved": ("This hold was already settled or released.", "该冻结款项已结算或释放。"),
    # --- analytics -------------------------------------------------------------------------
    "no_orders": ("There are no orders to analyse.", "没有可分析的订单。"),
    "no_purchases": ("There are no purchases in this period.", "此期间没有消费记录。"),
    "joined_after_as_of": ("The member joined after this date.", "该会员在此日期之后才入会。"),
    "bad_window": ("The time window is not valid.", "时间窗口无效。"),
    "bad_thresholds": ("The lifecycle thresholds are not consistent.", "生命周期阈值设置不一致。"),
    "bad_horizon": ("The prediction horizon is out of range.", "预测周期超出范围。"),
    "bad_holdout": ("The holdout period must end after the calibration period.",
                    "验证期必须晚于校准期结束。"),
    "bad_model_kind": ("This model kind is not known.", "未知的模型类型。"),
    "bad_model_file": ("The file is not a churn model.", "该文件不是流失模型。"),
    "stale_model": ("The churn model is out of date; train it again.",
                    "流失模型已过时，请重新训练。"),
    "cutoff_too_late": ("The cutoff leaves too few days of data after it.",
                        "截止日期之后的数据天数不足。"),
    "one_class_labels": ("Too little history to train the churn model.",
                         "历史数据不足，无法训练流失模型。"),
    "fit_did_not_converge": ("The model could not be fitted to so little data.",
                             "数据太少，模型无法拟合。"),
    "empty_data": ("There are no customers to analyse.", "没有可分析的客户。"),
    "no_repeat_purchases": ("Nobody bought again; the model needs repeat purchases.",
                            "没有复购记录，模型需要复购数据。"),
    "too_few_repeat_customers": ("Too few repeat customers to estimate spend.",
                                 "复购客户太少，无法估算消费金额。"),
    "negative_amount": ("An amount is negative.", "存在负数金额。"),
    "unreadable_file": ("The file cannot be read.", "无法读取该文件。"),
    "empty_file": ("The file has no purchases.", "文件中没有消费记录。"),
    "bad_encoding": ("The file is not UTF-8 text.", "文件不是 UTF-8 编码。"),
    "bad_row": ("A row of the file has too few fields.", "文件中有一行的字段不足。"),
    "missing_column": ("The file lacks a required column.", "文件缺少必需的列。"),
    "bad_customer": ("A row of the file has no customer.", "文件中有一行没有客户。"),
    "bad_date": ("A date in the file is not valid.", "文件中有无效的日期。"),
    "bad_amount": ("An amount in the file is not a number.", "文件中有金额不是数字。"),
    "bad_time_unit": ("The time unit must be weeks or days.", "时间单位必须是周或天。"),
    "calibration_before_first_purchase": ("The calibration period ends before any purchase.",
                                          "校准期在首次消费之前就已结束。"),
}


def detail(exc: DomainError) -> str:
    """What went wrong, in the operator's language. In Chinese: the code's title, with the
    English detail after it in parentheses when it says more (amounts, names, ids). Build
    it on the event loop: in a worker thread the language is not the operator's."""
    titles = TITLES.get(exc.code)
    if titles is None or language() != "zh-CN":
        return exc.detail
    english, chinese = titles
    if not exc.detail or exc.detail.strip() in (english, chinese):
        return chinese
    return f"{chinese.removesuffix('。')}（{exc.detail}）"


def text(exc: DomainError) -> str:
    """The message for a refused action: "Not done: …" / "未完成：…"."""
    return t("Not done: {detail}", "未完成：{detail}", detail=detail(exc))
