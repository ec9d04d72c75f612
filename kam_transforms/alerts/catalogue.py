"""The catalogue of alert texts: per rule its name, its reason and its next step, en and zh-CN.

Adding a rule (its SQL in ``dbt_project/models/intermediate/alerts/``) means adding here:

1. ``RULES["<rule_id>"]`` with ``name``, ``reason`` and ``next_step``, each in every locale
   of :data:`~kam_transforms.alerts.localise.LOCALES`;
2. a label in :data:`~kam_transforms.alerts.vocabulary.LABELS` for every evidence key the
   rule emits (``evidence_json([...])`` in its SQL), and for a ``code`` value the words of
   its domain in :data:`~kam_transforms.alerts.vocabulary.CODES`.

``tests/test_alert_templates.py`` fails until both are there (it reads every rule id from the
SQL), and rendering a digest with a rule or a locale the catalogue lacks raises
:class:`~kam_transforms.alerts.reasons.MissingTemplateError`.

Templates are :meth:`str.format` strings over the rule's evidence keys; each value is
formatted for the locale by its unit (money, days, date, share ...). ``{key:abs}`` drops a
sign, ``{key:signed}`` always shows one. ``reason`` is a list of variants: the first whose
``requires`` keys are all non-null and whose ``when`` keys have the given values is used, so
the last variant has neither. A next step may use evidence keys too; it is a suggestion that
``KAM_ALERT_NEXT_STEPS`` can override per rule (README, "Alert texts").
"""

from __future__ import annotations

from typing import Any

__all__ = ["RULES"]

RULES: dict[str, dict[str, Any]] = {
    # ------------------------------------------------------------------ relationship
    "account_manager_change": {
        "name": {"en": "Account manager changed", "zh-CN": "客户经理变更"},
        "reason": [
            {
                "en": "The account manager changed {days_since_assigned} ago, on "
                "{owner_assigned_date}: the account is now owned by {owner_name}.",
                "zh-CN": "客户经理于 {owner_assigned_date}（{days_since_assigned}前）变更，"
                "现由 {owner_name} 负责。",
            }
        ],
        "next_step": {
            "en": "Plan the hand-over with the customer and introduce the new account manager "
            "in a joint meeting.",
            "zh-CN": "与客户商定交接安排，在联合会议上介绍新任客户经理。",
        },
    },
    "key_contact_left": {
        "name": {"en": "Key contact left", "zh-CN": "关键联系人离职"},
        "reason": [
            {
                "en": "A decision maker ({role}) left: inactive in the CRM since {left_date}, "
                "{days_since_left} ago; {active_decision_maker_count} active decision "
                "maker(s) remain.",
                "zh-CN": "决策人（{role}）已离开：自 {left_date}（{days_since_left}前）起在 CRM "
                "中为停用状态；仍有 {active_decision_maker_count} 位在职决策人。",
            }
        ],
        "next_step": {
            "en": "Find the successor and book an introduction meeting within two weeks.",
            "zh-CN": "找到接任者，并在两周内安排见面会。",
        },
    },
    "no_touchpoint": {
        "name": {"en": "No recent touchpoint", "zh-CN": "长期未接触"},
        "reason": [
            {
                "requires": ["days_since_last_touchpoint"],
                "en": "No touchpoint for {days_since_last_touchpoint} (last on "
                "{last_touchpoint_date}); class {abc_class} accounts need one every {max_days}.",
                "zh-CN": "已 {days_since_last_touchpoint}未接触（最近一次在 "
                "{last_touchpoint_date}）；{abc_class} 类客户至少每 {max_days}需接触一次。",
            },
            {
                "en": "No touchpoint recorded for this class {abc_class} account "
                "(limit {max_days}).",
                "zh-CN": "该 {abc_class} 类客户没有任何接触记录（上限 {max_days}）。",
            },
        ],
        "next_step": {
            "en": "Book a visit or a call with the main contact this week.",
            "zh-CN": "本周内安排一次拜访或与主要联系人通话。",
        },
    },
    # ------------------------------------------------------------------ risk
    "competitor_loss": {
        "name": {"en": "Lost to a competitor", "zh-CN": "输给竞争对手"},
        "reason": [
            {
                "en": "Opportunity {opportunity_id} ({amount}) was lost to {competitor} on "
                "{closed_date}, {days_since_lost} ago.",
                "zh-CN": "商机 {opportunity_id}（{amount}）于 {closed_date}（{days_since_lost}前）"
                "输给了 {competitor}。",
            }
        ],
        "next_step": {
            "en": "Run a win/loss review with the customer and agree how to win the next deal.",
            "zh-CN": "与客户进行赢单/丢单复盘，商定赢回下一笔业务的方案。",
        },
    },
    "revenue_decline": {
        "name": {"en": "Revenue decline", "zh-CN": "收入下滑"},
        "reason": [
            {
                "en": "Trailing 12-month revenue fell {revenue_change_share:abs} "
                "({revenue_prior_12m} → {revenue_t12m}).",
                "zh-CN": "近 12 个月收入下降 {revenue_change_share:abs}"
                "（{revenue_prior_12m} → {revenue_t12m}）。",
            }
        ],
        "next_step": {
            "en": "Book a business review to find out why the customer buys less.",
            "zh-CN": "预约业务回顾会议，了解客户采购减少的原因。",
        },
    },
    "order_cadence_gap": {
        "name": {"en": "Order overdue", "zh-CN": "订单间隔异常"},
        "reason": [
            {
                "en": "No order for {recency_days} (last on {last_order_date}), "
                "{interval_ratio} the usual interval of {usual_order_interval_days} between "
                "its {order_count_total} orders.",
                "zh-CN": "已 {recency_days}未下单（最近一次在 {last_order_date}），是其 "
                "{order_count_total} 笔订单平均间隔（{usual_order_interval_days}）的 "
                "{interval_ratio}。",
            }
        ],
        "next_step": {
            "en": "Call the buyer to ask about upcoming demand and open orders.",
            "zh-CN": "致电采购负责人，了解近期需求和待下订单。",
        },
    },
    "squeeze_score_high": {
        "name": {"en": "Customer squeezing margins", "zh-CN": "客户压价"},
        "reason": [
            {
                "en": "Squeeze score {squeeze_score} (threshold {threshold_score}): discounts "
                "of {discount_depth_t12m} of list value, {invoices_late_share_t12m} of "
                "invoices paid late, cost to serve {cost_to_serve_t12m} against a margin of "
                "{gross_margin_t12m}.",
                "zh-CN": "压价指数 {squeeze_score}（阈值 {threshold_score}）：折扣占标价的 "
                "{discount_depth_t12m}，{invoices_late_share_t12m} 的发票逾期付款，服务成本 "
                "{cost_to_serve_t12m}，毛利仅 {gross_margin_t12m}（客大欺店）。",
            }
        ],
        "next_step": {
            "en": "Review discounts, payment terms and cost to serve before the next price "
            "negotiation.",
            "zh-CN": "在下次价格谈判前复核折扣、付款条件和服务成本。",
        },
    },
    # ------------------------------------------------------------------ service, payment
    "complaint_past_sla": {
        "name": {"en": "Complaint past its SLA", "zh-CN": "投诉超时未解决"},
        "reason": [
            {
                "en": "Complaint {ticket_id} ({priority} priority) has been open for "
                "{days_open} since {opened_date}, {days_past_sla} past its SLA of {sla_days}.",
                "zh-CN": "投诉 {ticket_id}（{priority}优先级）自 {opened_date} 起已 "
                "{days_open}未解决，超出 {sla_days}的服务时限 {days_past_sla}。",
            }
        ],
        "next_step": {
            "en": "Escalate the ticket to the service lead and tell the customer when it "
            "will be solved.",
            "zh-CN": "将工单升级给服务负责人，并告知客户预计解决时间。",
        },
    },
    "overdue_invoices": {
        "name": {"en": "Overdue invoices", "zh-CN": "发票逾期"},
        "reason": [
            {
                "en": "{overdue_amount_base} overdue on {overdue_invoice_count} invoice(s); "
                "the oldest is {max_days_overdue} past due (limits {threshold_amount} or "
                "{threshold_days}).",
                "zh-CN": "{overdue_invoice_count} 张发票逾期未付，共 {overdue_amount_base}；"
                "最早一张已逾期 {max_days_overdue}（阈值 {threshold_amount} 或 "
                "{threshold_days}）。",
            }
        ],
        "next_step": {
            "en": "Agree on a payment date with the customer's finance contact.",
            "zh-CN": "与客户财务联系人确认付款日期。",
        },
    },
    # ------------------------------------------------------------------ lifecycle
    "health_band_drop": {
        "name": {"en": "Health band dropped", "zh-CN": "健康等级下降"},
        "reason": [
            {
                "en": "The health band dropped from {previous_health_band} to {health_band} "
                "(score {previous_health_score} → {health_score}).",
                "zh-CN": "健康等级从{previous_health_band}降至{health_band}"
                "（评分 {previous_health_score} → {health_score}）。",
            }
        ],
        "next_step": {
            "en": "Go through the health components with the team and agree on a recovery "
            "plan.",
            "zh-CN": "与团队逐项检查健康评分，制定改善计划。",
        },
    },
    "entered_decline": {
        "name": {"en": "Entered decline", "zh-CN": "进入衰退期"},
        "reason": [
            {
                "requires": ["revenue_change_share"],
                "en": "The lifecycle stage changed from {previous_stage} to decline on "
                "{stage_entered_date}: last order {recency_days} ago, usually one every "
                "{usual_order_interval_days}; trailing 12-month revenue "
                "{revenue_change_share:signed}.",
                "zh-CN": "生命周期阶段于 {stage_entered_date} 从{previous_stage}变为衰退期："
                "最近一次下单在 {recency_days}前，通常每 {usual_order_interval_days}下单一次；"
                "近 12 个月收入变化 {revenue_change_share:signed}。",
            },
            {
                "en": "The lifecycle stage changed from {previous_stage} to decline on "
                "{stage_entered_date}: last order {recency_days} ago, usually one every "
                "{usual_order_interval_days}.",
                "zh-CN": "生命周期阶段于 {stage_entered_date} 从{previous_stage}变为衰退期："
                "最近一次下单在 {recency_days}前，通常每 {usual_order_interval_days}下单一次。",
            },
        ],
        "next_step": {
            "en": "Meet the customer to understand what changed in their business and needs.",
            "zh-CN": "拜访客户，了解其业务和需求的变化。",
        },
    },
    "low_p_alive": {
        "name": {"en": "Low probability of buying again", "zh-CN": "复购概率低"},
        "reason": [
            {
                "en": "The probability that the customer is still buying (BG/NBD P(alive)) is "
                "{p_alive}, below the {threshold} threshold.",
                "zh-CN": "客户仍在持续采购的概率（BG/NBD 模型）为 {p_alive}，低于 {threshold} "
                "的阈值。",
            }
        ],
        "next_step": {
            "en": "Contact the customer with a relevant offer before they are lost.",
            "zh-CN": "尽快联系客户并提供有针对性的方案，避免流失。",
        },
    },
    # ------------------------------------------------------------------ tiers, opportunities
    "dropped_out_of_class_a": {
        "name": {"en": "Dropped out of class A", "zh-CN": "退出 A 类客户"},
        "reason": [
            {
                "en": "Dropped out of class A to class {abc_class}: trailing 12-month "
                "{abc_measure} {measure_value}, rank {measure_rank}.",
                "zh-CN": "已从 A 类降为 {abc_class} 类：近 12 个月{abc_measure} "
                "{measure_value}，排名第 {measure_rank}。",
            }
        ],
        "next_step": {
            "en": "Review the account plan and decide whether it stays a key account.",
            "zh-CN": "复核客户计划，决定是否继续作为关键客户管理。",
        },
    },
    "promoted_to_class_a": {
        "name": {"en": "Promoted to class A", "zh-CN": "晋升为 A 类客户"},
        "reason": [
            {
                "en": "Promoted from class {previous_abc_class} to class A: trailing 12-month "
                "{abc_measure} {measure_value}, rank {measure_rank}.",
                "zh-CN": "已从 {previous_abc_class} 类升为 A 类：近 12 个月{abc_measure} "
                "{measure_value}，排名第 {measure_rank}。",
            }
        ],
        "next_step": {
            "en": "Treat it as a key account: write an account plan and name a senior sponsor.",
            "zh-CN": "按关键客户管理：制定客户计划并指定高层负责人。",
        },
    },
    "potential_toward_core": {
        "name": {"en": "Growing toward core", "zh-CN": "向核心客户成长"},
        "reason": [
            {
                "when": {"value_quadrant": "core"},
                "en": "Moved from the potential to the core quadrant: trailing 12-month "
                "{abc_measure} {current_value} (core from {core_current_value}).",
                "zh-CN": "已从潜力客户象限进入核心客户象限：近 12 个月{abc_measure} "
                "{current_value}（核心门槛 {core_current_value}）。",
            },
            {
                "requires": ["measure_growth_share"],
                "en": "Potential customer growing toward core: trailing 12-month {abc_measure} "
                "{current_value} is {core_share} of the core threshold "
                "({core_current_value}), up {measure_growth_share} on the prior 12 months.",
                "zh-CN": "潜力客户正向核心客户靠近：近 12 个月{abc_measure} {current_value}，"
                "达到核心门槛（{core_current_value}）的 {core_share}，较前 12 个月增长 "
                "{measure_growth_share}。",
            },
            {
                "en": "Potential customer growing toward core: trailing 12-month {abc_measure} "
                "{current_value} is {core_share} of the core threshold "
                "({core_current_value}), new since the prior 12 months.",
                "zh-CN": "潜力客户正向核心客户靠近：近 12 个月{abc_measure} {current_value}，"
                "达到核心门槛（{core_current_value}）的 {core_share}，为前 12 个月以来的新业务。",
            },
        ],
        "next_step": {
            "en": "Book a growth meeting to agree on the next joint projects.",
            "zh-CN": "预约增长洽谈会，商定下一步合作项目。",
        },
    },
    "whitespace_opportunity": {
        "name": {"en": "Cross-sell opportunity", "zh-CN": "交叉销售机会"},
        "reason": [
            {
                "en": "Does not buy {product_category}: {buying_account_count} of "
                "{similar_account_count} similar accounts (class {abc_class}, {industry}) do, "
                "with a median margin of {peer_median_category_margin} in it; opportunity "
                "{opportunity_value}.",
                "zh-CN": "尚未采购{product_category}：{similar_account_count} 家同类客户"
                "（{abc_class} 类，{industry}）中有 {buying_account_count} 家在采购，其该品类"
                "毛利中位数为 {peer_median_category_margin}；潜在机会 {opportunity_value}。",
            }
        ],
        "next_step": {
            "en": "Propose {product_category} in the next meeting, with a reference from a "
            "similar customer.",
            "zh-CN": "在下次会议中推荐{product_category}，并附上同类客户的成功案例。",
        },
    },
    # ------------------------------------------------------------------ programme
    "plan_behind_pace": {
        "name": {"en": "Account plan behind pace", "zh-CN": "客户计划进度落后"},
        "reason": [
            {
                "requires": ["revenue_target_base"],
                "en": "Plan {plan_id} ({period_start} to {period_end}) is behind pace: "
                "{attainment_share} of the revenue target {revenue_target_base} reached "
                "({revenue_to_date_base}), {expected_attainment_share} expected by now.",
                "zh-CN": "客户计划 {plan_id}（{period_start} 至 {period_end}）进度落后：收入目标 "
                "{revenue_target_base} 已完成 {attainment_share}（{revenue_to_date_base}），"
                "按进度此时应完成 {expected_attainment_share}。",
            },
            {
                "en": "Plan {plan_id} ({period_start} to {period_end}) is behind pace: "
                "{attainment_share} of its margin target reached, "
                "{expected_attainment_share} expected by now.",
                "zh-CN": "客户计划 {plan_id}（{period_start} 至 {period_end}）进度落后：毛利目标"
                "已完成 {attainment_share}，按进度此时应完成 {expected_attainment_share}。",
            },
        ],
        "next_step": {
            "en": "Review the plan with the customer and agree on the actions to close the gap.",
            "zh-CN": "与客户回顾计划，商定弥补差距的具体行动。",
        },
    },
    "competitor_in_key_accounts": {
        "name": {"en": "Competitor entering key accounts", "zh-CN": "竞争对手进入重点客户"},
        "reason": [
            {
                "en": "{competitor} entered {entered_account_count} key accounts within "
                "{window_days}, this one on {first_named_date} ({days_since_entry} ago); "
                "{opportunities_lost} opportunities lost to it here since.",
                "zh-CN": "{competitor} 在 {window_days}内进入了 {entered_account_count} 家重点"
                "客户，于 {first_named_date}（{days_since_entry}前）进入本客户；此后本客户"
                "输给它 {opportunities_lost} 个商机。",
            }
        ],
        "next_step": {
            "en": "Find out what {competitor} offers and confirm the account's priorities "
            "with the decision makers.",
            "zh-CN": "了解 {competitor} 的报价与方案，并与决策人确认客户的优先事项。",
        },
    },
}
