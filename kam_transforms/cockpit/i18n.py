"""Every label of the cockpit, in English and Simplified Chinese (zh-CN).

Both locales carry the same keys (a test checks it), so a page never falls back to a
label of the other language. Terms follow the KAM domain notes (关键客户, 客户价值矩阵,
客户生命周期...). Data (customer and manager names, alert reasons without a localised
template) stays as the warehouse holds it.
"""

from __future__ import annotations

from kam_transforms.addresses import LOCALES
from kam_transforms.alerts.overview import ALERT_TYPE_LABEL, SEVERITY_LABEL

__all__ = ["LOCALES", "LOCALE_ENV", "Labels", "labels", "resolve_locale"]

#: The setting that picks the cockpit's language (``en`` by default).
LOCALE_ENV = "KAM_REPORT_LOCALE"

_EN: dict[str, str] = {
    "title": "KAM cockpit",
    "as_of": "As of {date}",
    "nav_overview": "Overview",
    "nav_pareto": "Pareto and ABC",
    "nav_value": "Value matrix",
    "nav_lifecycle": "Lifecycle",
    "nav_health": "Health",
    "nav_clv": "Lifetime value",
    "nav_managers": "Account managers",
    "kpi_customers": "Customers",
    "kpi_key_accounts": "Key accounts",
    "kpi_margin": "Trailing 12-month gross margin ({currency})",
    "kpi_margin_change": "Change against the prior 12 months",
    "kpi_alerts": "Alerts of this run",
    "overview_caption": (
        "The run at a glance: how many customers the warehouse ranks, how many are key "
        "accounts, the margin they made over the last 12 months against the 12 before, and "
        "the alerts this run raised."
    ),
    "alerts_by_severity": "Alerts by severity",
    "alerts_by_severity_caption": "Bars count this run's alerts; high needs action this week.",
    "validation": "Validation of the published build",
    "validation_caption": (
        "Great Expectations checks the build before it is published; a blocking failure "
        "stops the publish, so a published run shows none."
    ),
    "validation_outcome": "Outcome",
    "passed": "passed",
    "failed": "failed",
    "suite": "Suite",
    "checks": "Checks",
    "checks_passed": "Passed",
    "blocking_failed": "Blocking failures",
    "warnings_failed": "Warnings",
    "freshness": "Data freshness per source",
    "freshness_caption": (
        "The newest landed batch of each entity up to the run date; days behind counts "
        "from that batch's date to the run date."
    ),
    "source": "Source",
    "entity": "Entity",
    "latest_batch": "Latest batch",
    "loaded_at": "Loaded at (UTC)",
    "days_behind": "Days behind",
    "never_landed": "never landed",
    "pareto_title": "Pareto curve of {measure}",
    "pareto_caption": (
        "Customers ranked by {measure}, largest first (x: share of customers), against the "
        "cumulative share of the total (y). The dashed lines are the A and B cut-offs: "
        "customers left of the A line are class A. A steep start means few customers carry "
        "the business."
    ),
    "pareto_x": "Share of customers (ranked)",
    "pareto_y": "Cumulative share of {measure}",
    "cutoff_a": "A cut-off {share}",
    "cutoff_b": "B cut-off {share}",
    "measure_gross_margin": "trailing 12-month gross margin",
    "measure_revenue": "trailing 12-month revenue",
    "class_counts": "Customers and {measure} per class",
    "abc_class": "Class",
    "customers": "Customers",
    "share_of_measure": "Share of measure",
    "migration_title": "ABC migration against the comparison window",
    "migration_caption": (
        "Rows are the class on the comparison window, columns the class now; the diagonal "
        "kept its class, above it moved down, below it moved up."
    ),
    "migration_from": "Before \u2192 now",
    "value_title": "Customer value matrix",
    "value_caption": (
        "Each dot is a customer: current value (x) against potential value (y). The lines "
        "split the four quadrants: core (both high), potential (potential high), direct "
        "(current high), inferior (both low). Key accounts are the larger dots; the top "
        "ones are named. Grow potential and direct customers toward core."
    ),
    "value_x": "Current value ({currency})",
    "value_y": "Potential value ({currency})",
    "value_sample": "{shown} of {total} customers drawn (every key account and a sample).",
    "quadrant": "Quadrant",
    "key_accounts": "Key accounts",
    "margin": "Margin ({currency})",
    "lifecycle_title": "Customers and margin per lifecycle stage",
    "lifecycle_caption": (
        "Bars count the customers in each stage (left) and their trailing 12-month gross "
        "margin (right). Stable customers carry the margin; a growing decline bar asks for "
        "re-development."
    ),
    "stage": "Stage",
    "transitions_title": "Stage transitions since the last run",
    "transitions_caption": "Customers whose lifecycle stage changed since the previous run.",
    "previous_stage": "Previous stage",
    "stage_entered": "Stage entered",
    "no_rows": "None.",
    "health_title": "Health per band",
    "health_caption": (
        "Customers per health band (green healthy, yellow watch, red act) and how many of "
        "each band are key accounts."
    ),
    "band": "Band",
    "dropped_title": "Accounts that dropped a band",
    "dropped_caption": "Customers whose health band is worse than on the previous run.",
    "previous_band": "Previous band",
    "health_score": "Health score",
    "previous_score": "Previous score",
    "clv_title": "Predicted against historical value",
    "clv_caption": (
        "Each dot is a customer: the margin it made to date (x) against the predicted, "
        "discounted margin over the horizon (y). Dots above the diagonal are expected to "
        "give more than they gave; fallback customers use historical value."
    ),
    "clv_x": "Historical margin ({currency})",
    "clv_y": "Predicted CLV ({currency})",
    "holdout_title": "Holdout check of the latest model run",
    "holdout_caption": (
        "The purchase model is fitted on a calibration period and predicts the holdout "
        "period that follows; the closer predicted and actual purchases, the better."
    ),
    "holdout_predicted": "Predicted purchases",
    "holdout_actual": "Actual purchases",
    "holdout_error_pct": "Total error",
    "holdout_mae": "Mean absolute error per customer",
    "holdout_customers": "Customers in the holdout",
    "holdout_cutoff": "Calibration cut-off",
    "holdout_none": "The latest model run has no holdout check: {reason}",
    "model_run": "Model run",
    "managers_title": "Account managers",
    "managers_caption": (
        "One page per account manager: their portfolio, their key accounts at risk and "
        "their open alerts."
    ),
    "manager": "Account manager",
    "unassigned": "(no account manager)",
    "portfolio": "Portfolio",
    "portfolio_caption": "The manager's customers per class and their margin.",
    "at_risk_title": "Key accounts at risk",
    "at_risk_caption": (
        "Key accounts in the red health band, in decline, or with a high-severity alert."
    ),
    "open_alerts": "Open alerts",
    "high_alerts": "High-severity alerts",
    "alerts_caption": "Alerts of this run on the manager's accounts, most severe first.",
    "customer": "Customer",
    "severity": "Severity",
    "alert_type": "Type",
    "reason": "Reason",
    "key_account_score": "Key-account score",
    "col_plan_id": "Plan",
    "col_period_end": "Period end",
    "col_revenue_target_base": "Revenue target",
    "col_revenue_to_date_base": "Revenue to date",
    "col_revenue_attainment_share": "Revenue attainment",
    "col_margin_target_base": "Margin target",
    "col_margin_to_date_base": "Margin to date",
    "col_margin_attainment_share": "Margin attainment",
    "col_expected_attainment_share": "Expected by now",
    "col_attainment_status": "Status",
    "back_to_managers": "All account managers",
    "manager_summary": (
        "{customers} customers, {keys} key accounts, {alerts} open alerts ({high} high)"
    ),
    "plan_title": "Plan attainment",
    "plan_caption": "Each account plan's target against what the account delivered so far.",
    "plan": "Plan",
    "target": "Target",
    "actual": "Actual",
    "attainment": "Attainment",
    "io_title": "Input against output over the lifecycle",
    "io_caption": (
        "Per month of life: the mean cumulative cost to serve of the manager's customers "
        "(input) against their mean cumulative gross margin (output). Output above input "
        "pays for the relationship."
    ),
    "io_x": "Month of life",
    "io_y": "Cumulative per customer ({currency})",
    "io_input": "Input (cost to serve)",
    "io_output": "Output (gross margin)",
    "shown_of": "{shown} of {total} shown.",
    "sort_hint": "Click a column header to sort.",
    "footer": "Written from the serving warehouse published as of {date}, build",
    "yes": "yes",
    "no": "no",
    "none": "\u2014",
}

_ZH: dict[str, str] = {
    "title": "关键客户管理驾驶舱",
    "as_of": "数据截至 {date}",
    "nav_overview": "总览",
    "nav_pareto": "帕累托与ABC分类",
    "nav_value": "客户价值矩阵",
    "nav_lifecycle": "客户生命周期",
    "nav_health": "客户健康度",
    "nav_clv": "客户终身价值",
    "nav_managers": "客户经理",
    "kpi_customers": "客户数",
    "kpi_key_accounts": "关键客户数",
    "kpi_margin": "近 12 个月毛利（{currency}）",
    "kpi_margin_change": "较前 12 个月变化",
    "kpi_alerts": "本次运行预警",
    "overview_caption": (
        "本次运行一览：数仓排名的客户数、关键客户数、近 12 个月毛利与前 12 个月的对比，以及本次"
        "运行产生的预警。"
    ),
    "alerts_by_severity": "按严重程度的预警",
    "alerts_by_severity_caption": "柱高为本次运行的预警数；“高”需在本周处理。",
    "validation": "已发布构建的数据校验",
    "validation_caption": (
        "发布前由数据校验检查构建；阻断性失败会阻止发布，"
        "因此已发布的运行没有阻断性失败。"
    ),
    "validation_outcome": "结果",
    "passed": "通过",
    "failed": "未通过",
    "suite": "校验集",
    "checks": "检查项",
    "checks_passed": "通过",
    "blocking_failed": "阻断性失败",
    "warnings_failed": "警告",
    "freshness": "各数据源的新鲜度",
    "freshness_caption": "截至运行日期各实体最新落地的批次；滞后天数为该批次日期到运行日期的天数。",
    "source": "数据源",
    "entity": "实体",
    "latest_batch": "最新批次",
    "loaded_at": "落地时间（协调世界时）",
    "days_behind": "滞后天数",
    "never_landed": "从未落地",
    "pareto_title": "{measure}的帕累托曲线",
    "pareto_caption": (
        "客户按{measure}从大到小排序（横轴：客户占比），纵轴为累计占比。虚线为 A 类和 B 类分界："
        "A 线左侧为 A 类客户。曲线起步越陡，说明少数客户贡献了大部分业务。"
    ),
    "pareto_x": "客户占比（已排序）",
    "pareto_y": "{measure}累计占比",
    "cutoff_a": "A 类分界 {share}",
    "cutoff_b": "B 类分界 {share}",
    "measure_gross_margin": "近 12 个月毛利",
    "measure_revenue": "近 12 个月收入",
    "class_counts": "各类客户数及{measure}",
    "abc_class": "类别",
    "customers": "客户数",
    "share_of_measure": "占比",
    "migration_title": "与对比窗口相比的 ABC 迁移",
    "migration_caption": (
        "行为对比窗口时的类别，列为当前类别；"
        "对角线为类别未变，其上为降级，其下为升级。"
    ),
    "migration_from": "之前 \u2192 现在",
    "value_title": "客户价值矩阵",
    "value_caption": (
        "每个点为一个客户：横轴为直接价值，纵轴为潜在价值。分割线划出四个象限：核心（两者皆高）、"
        "潜在（潜在价值高）、直接（直接价值高）、劣质（两者皆低）。大点为关键客户，排名靠前的标注"
        "了名称。应推动潜在客户和直接客户向核心客户发展。"
    ),
    "value_x": "直接价值（{currency}）",
    "value_y": "潜在价值（{currency}）",
    "value_sample": "共 {total} 个客户，绘制 {shown} 个（全部关键客户及抽样）。",
    "quadrant": "象限",
    "key_accounts": "关键客户",
    "margin": "毛利（{currency}）",
    "lifecycle_title": "各生命周期阶段的客户数与毛利",
    "lifecycle_caption": (
        "左图为各阶段客户数，右图为其近 12 个月毛利。"
        "稳定期客户贡献主要毛利；退化期增长需要二次开发。"
    ),
    "stage": "阶段",
    "transitions_title": "自上次运行以来的阶段变化",
    "transitions_caption": "自上次运行以来生命周期阶段发生变化的客户。",
    "previous_stage": "之前阶段",
    "stage_entered": "进入阶段日期",
    "no_rows": "无。",
    "health_title": "各健康等级的客户",
    "health_caption": "各健康等级（绿：健康，黄：关注，红：需行动）的客户数及其中的关键客户数。",
    "band": "等级",
    "dropped_title": "健康等级下降的客户",
    "dropped_caption": "健康等级比上次运行更差的客户。",
    "previous_band": "之前等级",
    "health_score": "健康分",
    "previous_score": "之前分数",
    "clv_title": "预测价值与历史价值",
    "clv_caption": (
        "每个点为一个客户：横轴为至今的毛利，纵轴为预测期内折现后的预测毛利。对角线以上的客户预计"
        "贡献多于以往；回退客户使用历史价值。"
    ),
    "clv_x": "历史毛利（{currency}）",
    "clv_y": "预测终身价值（{currency}）",
    "holdout_title": "最新模型运行的留出期检验",
    "holdout_caption": "购买模型在校准期拟合，并预测其后的留出期；预测与实际购买次数越接近越好。",
    "holdout_predicted": "预测购买次数",
    "holdout_actual": "实际购买次数",
    "holdout_error_pct": "总误差",
    "holdout_mae": "每客户平均绝对误差",
    "holdout_customers": "留出期客户数",
    "holdout_cutoff": "校准截止日",
    "holdout_none": "最新模型运行没有留出期检验：{reason}",
    "model_run": "模型运行",
    "managers_title": "客户经理",
    "managers_caption": "每位客户经理一页：其客户组合、有风险的关键客户及未处理预警。",
    "manager": "客户经理",
    "unassigned": "（无客户经理）",
    "portfolio": "客户组合",
    "portfolio_caption": "该客户经理各类客户的数量及毛利。",
    "at_risk_title": "有风险的关键客户",
    "at_risk_caption": "健康等级为红、处于退化期或有高严重度预警的关键客户。",
    "open_alerts": "未处理预警",
    "high_alerts": "高严重度预警",
    "alerts_caption": "本次运行中该客户经理所负责客户的预警，按严重程度排序。",
    "customer": "客户",
    "severity": "严重程度",
    "alert_type": "类别",
    "reason": "原因",
    "key_account_score": "关键客户评分",
    "col_plan_id": "计划",
    "col_period_end": "计划截止日",
    "col_revenue_target_base": "收入目标",
    "col_revenue_to_date_base": "实际收入",
    "col_revenue_attainment_share": "收入完成率",
    "col_margin_target_base": "毛利目标",
    "col_margin_to_date_base": "实际毛利",
    "col_margin_attainment_share": "毛利完成率",
    "col_expected_attainment_share": "应完成进度",
    "col_attainment_status": "状态",
    "back_to_managers": "全部客户经理",
    "manager_summary": (
        "客户 {customers} 个，关键客户 {keys} 个，未处理预警 {alerts} 条（高 {high} 条）"
    ),
    "plan_title": "计划完成情况",
    "plan_caption": "各客户计划的目标与客户至今的实际完成。",
    "plan": "计划",
    "target": "目标",
    "actual": "实际",
    "attainment": "完成率",
    "io_title": "生命周期中的投入与产出",
    "io_caption": (
        "按客户生命月份：该客户经理客户的平均累计服务成本（企业投入）与平均累计毛利（客户产出）。"
        "产出高于投入，说明这段客户关系值得投入。"
    ),
    "io_x": "生命月份",
    "io_y": "每客户累计值（{currency}）",
    "io_input": "企业投入（服务成本）",
    "io_output": "客户产出（毛利）",
    "shown_of": "共 {total} 条，显示 {shown} 条。",
    "sort_hint": "点击列标题排序。",
    "footer": "根据 {date} 发布的服务数仓生成，构建",
    "yes": "是",
    "no": "否",
    "none": "\u2014",
}

_TERMS: dict[str, dict[str, str]] = {
    "en": {
        "A": "A (key)", "B": "B (important)", "C": "C (general)",
        "core": "core", "potential": "potential", "direct": "direct", "inferior": "inferior",
        "prospect": "prospect", "exploration": "exploration", "formation": "formation",
        "stability": "stability", "decline": "decline", "churned": "churned",
        "unknown": "unknown",
        "green": "green", "yellow": "yellow", "red": "red",
        "crm": "CRM", "erp": "ERP",
        "on_track": "on track", "at_risk": "at risk", "behind": "behind",
        "not_started": "not started", "no_target": "no target", "no_plan": "no plan",
    },
    "zh-CN": {
        "A": "A（关键客户）", "B": "B（重要客户）", "C": "C（一般客户）",
        "core": "核心", "potential": "潜在", "direct": "直接", "inferior": "劣质",
        "prospect": "潜在客户", "exploration": "考察期", "formation": "形成期",
        "stability": "稳定期", "decline": "退化期", "churned": "流失", "unknown": "未知",
        "green": "绿", "yellow": "黄", "red": "红",
        "crm": "客户关系系统", "erp": "企业资源系统",
        "on_track": "进度正常", "at_risk": "有风险", "behind": "落后",
        "not_started": "未开始", "no_target": "无目标", "no_plan": "无计划",
    },
}  # fmt: skip


class Labels:
    """The labels of one locale: ``labels["key"]`` or ``labels("key", name=value)``;
    ``labels.term(value)`` names a class, quadrant, stage, band, severity or alert type."""

    def __init__(self, locale: str) -> None:
        if locale not in LOCALES:
            raise ValueError(f"{LOCALE_ENV}={locale!r} is not one of {', '.join(LOCALES)}")
        self.locale = locale
        self._texts = _EN if locale == "en" else _ZH
        self._terms = (
            _TERMS[locale] | SEVERITY_LABEL[locale] | ALERT_TYPE_LABEL[locale]
        )

    def __getitem__(self, key: str) -> str:
        return self._texts[key]

    def __call__(self, key: str, **values: object) -> str:
        return self._texts[key].format(**values)

    def term(self, value: object) -> str:
        if value is None:
            return self._texts["none"]
        return self._terms.get(str(value), str(value))

    @staticmethod
    def keys(locale: str) -> set[str]:
        return set(_EN if locale == "en" else _ZH)

    @staticmethod
    def terms(locale: str) -> dict[str, str]:
        return dict(_TERMS[locale])


def labels(locale: str) -> Labels:
    return Labels(locale)


def resolve_locale(value: str | None) -> str:
    """``value`` (or ``KAM_REPORT_LOCALE``, else ``en``) checked against :data:`LOCALES`;
    ``zh``, ``zh_CN`` and ``zh-cn`` mean ``zh-CN``."""
    import os

    raw = (value or os.environ.get(LOCALE_ENV) or "en").strip()
    norm = {"zh": "zh-CN", "zh_cn": "zh-CN", "zh-cn": "zh-CN", "en": "en"}.get(raw.lower(), raw)
    if norm not in LOCALES:
        raise ValueError(f"{LOCALE_ENV}={raw!r} is not one of {', '.join(LOCALES)}")
    return norm
