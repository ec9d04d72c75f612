"""The demo world: every row that ever exists up to an anchor date, as numpy/Arrow columns.

:class:`_World` builds the base world of ``(customers, seed, anchor)``;
``kam_transforms.demo_data`` plants the scenarios of ``demo_economics``, ``demo_plans`` and
``demo_competitors`` into it and writes the exports (see that module for the conventions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from kam_transforms.demo_write import fixed_width_strings, put_digits

Array = npt.NDArray[Any]

BASE_CURRENCY = "USD"
#: Days of history before the anchor date (three years).
HISTORY_DAYS = 3 * 365 + 1
CURRENCIES: tuple[str, ...] = ("USD", "EUR", "CNY", "GBP", "JPY")

#: Column order of every file, ``<source>/<entity>`` -> columns.
CANONICAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "crm/accounts": (
        "account_id", "account_name", "industry", "region", "country", "employee_count",
        "owner_id", "parent_account_id", "erp_customer_id", "created_at", "updated_at",
        "is_deleted", "owner_assigned_at",
    ),
    "crm/owners": ("owner_id", "full_name", "email", "manager_email", "locale", "is_active"),
    "crm/owner_directory": ("owner_id", "email", "manager_email", "locale", "team"),
    "crm/contacts": (
        "contact_id", "account_id", "full_name", "role", "is_decision_maker", "is_active",
        "updated_at",
    ),
    "crm/activities": ("activity_id", "account_id", "owner_id", "activity_type", "occurred_at"),
    "crm/opportunities": (
        "opportunity_id", "account_id", "stage", "amount", "currency", "probability",
        "expected_close_date", "closed_at", "is_won", "lost_reason", "competitor", "updated_at",
    ),
    "crm/tickets": (
        "ticket_id", "account_id", "category", "priority", "status", "opened_at", "resolved_at",
    ),
    "crm/surveys": (
        "response_id", "account_id", "contact_id", "survey_type", "score", "responded_at",
    ),
    "crm/account_plans": (
        "plan_id", "account_id", "owner_id", "period_start", "period_end", "revenue_target",
        "margin_target", "currency", "objective", "status", "updated_at",
    ),
    "erp/customers": (
        "customer_id", "customer_name", "tax_id", "currency", "payment_terms_days",
        "credit_limit", "created_at", "updated_at",
    ),
    "erp/products": ("product_id", "product_name", "category", "unit_cost", "currency"),
    "erp/orders": ("order_id", "customer_id", "order_date", "currency", "status", "updated_at"),
    "erp/order_lines": (
        "order_line_id", "order_id", "product_id", "quantity", "unit_price", "discount_pct",
        "unit_cost",
    ),
    "erp/invoices": (
        "invoice_id", "customer_id", "order_id", "invoice_date", "due_date", "amount",
        "currency", "status", "updated_at",
    ),
    "erp/payments": ("payment_id", "invoice_id", "paid_at", "amount", "currency"),
    "erp/fx_rates": ("currency", "rate_date", "rate_to_base"),
}  # fmt: skip

#: The planted scenarios, each on its own account.
SCENARIO_NAMES: tuple[str, ...] = (
    "declining_key_account",
    "account_manager_change",
    "key_contact_left",
    "competitor_loss",
    "overdue_invoices",
    "unresolved_complaint",
    "no_recent_touchpoint",
    "fast_growing_potential",
    "zh_owner_key_account",
    "inactive_owner_account",
    "churned",
    "prospect",
    # kam_transforms.demo_economics
    "squeezing_large_account",
    "loyal_cross_buyer",
    "price_rise_quantity_drop",
    "key_account_missing_category",
    # kam_transforms.demo_plans
    "plan_behind_pace",
    # kam_transforms.demo_competitors
    "competitor_in_key_accounts",
    # kam_transforms.demo_portfolio
    "lost_a_account",
)

_SCENARIO_TEXT: dict[str, str] = {
    "declining_key_account": (
        "top-margin customer; trailing-12-month revenue down more than 50% against the "
        "previous 12 months; last order far past its usual interval"
    ),
    "account_manager_change": "key account whose owner changed 45 days before anchor",
    "key_contact_left": "key account whose decision maker left 40 days before anchor",
    "competitor_loss": "key account that lost an opportunity to a competitor 30 days before anchor",
    "overdue_invoices": "key account with several large invoices unpaid 61-300 days past due",
    "unresolved_complaint": "key account with a high-priority complaint open since 45 days",
    "no_recent_touchpoint": "key account with no activity in the 150 days before anchor",
    "fast_growing_potential": (
        "mid-sized customer whose trailing-12-month revenue more than doubled, with a large "
        "open weighted pipeline"
    ),
    "zh_owner_key_account": "large account owned by a zh-CN account manager with a Chinese name",
    "inactive_owner_account": "account still owned by a deactivated account manager",
    "churned": "former customer with no order for more than 13 months",
    "prospect": "CRM account with open opportunities and no ERP customer",
}


# country, region, currency, weight, owner focus
_COUNTRIES: tuple[tuple[str, str, str, float, str], ...] = (
    ("US", "North America", "USD", 22, "Americas"),
    ("CA", "North America", "USD", 4, "Americas"),
    ("MX", "Latin America", "USD", 3, "Americas"),
    ("BR", "Latin America", "USD", 3, "Americas"),
    ("DE", "Europe", "EUR", 10, "Europe"),
    ("FR", "Europe", "EUR", 6, "Europe"),
    ("NL", "Europe", "EUR", 3, "Europe"),
    ("GB", "Europe", "GBP", 7, "Europe"),
    ("CN", "Greater China", "CNY", 22, "Greater China"),
    ("JP", "Asia Pacific", "JPY", 8, "Asia Pacific"),
    ("SG", "Asia Pacific", "USD", 4, "Asia Pacific"),
    ("AU", "Asia Pacific", "USD", 4, "Asia Pacific"),
)
_CN = 8  # index of China in _COUNTRIES
_US = 0
_LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "US": ("Inc.", "LLC", "Corp."), "CA": ("Ltd.", "Inc."), "MX": ("S.A. de C.V.",),
    "BR": ("Ltda.", "S.A."), "DE": ("GmbH", "AG"), "FR": ("SAS", "S.A."), "NL": ("B.V.",),
    "GB": ("Ltd", "PLC"), "CN": ("有限公司",), "JP": ("K.K.", "Co., Ltd."),
    "SG": ("Pte. Ltd.",), "AU": ("Pty Ltd",),
}  # fmt: skip
# initial FX level (USD per unit) and annual volatility
_FX: dict[str, tuple[float, float]] = {
    "USD": (1.0, 0.0), "EUR": (1.08, 0.07), "CNY": (0.139, 0.04), "GBP": (1.27, 0.08),
    "JPY": (0.0068, 0.10),
}  # fmt: skip

_INDUSTRIES: tuple[str, ...] = (
    "Manufacturing", "Retail", "Logistics", "Technology", "Healthcare", "Energy",
    "Automotive", "Chemicals", "Food & Beverage", "Construction",
)  # fmt: skip
_INDUSTRY_WORDS_EN: tuple[tuple[str, ...], ...] = (
    ("Manufacturing", "Industries", "Works"), ("Retail", "Stores", "Trading"),
    ("Logistics", "Freight", "Shipping"), ("Technologies", "Systems", "Digital"),
    ("Health", "Medical", "Pharma"), ("Energy", "Power", "Renewables"),
    ("Automotive", "Motors", "Auto Parts"), ("Chemicals", "Materials", "Polymers"),
    ("Foods", "Beverages", "Agri"), ("Construction", "Building", "Engineering"),
)  # fmt: skip
_INDUSTRY_WORDS_ZH: tuple[tuple[str, ...], ...] = (
    ("机械制造", "精密制造", "重工"), ("贸易", "商贸", "百货"), ("物流", "供应链", "货运"),
    ("科技", "信息技术", "电子"), ("医疗器械", "医药", "生物科技"), ("能源", "电力", "新能源"),
    ("汽车零部件", "汽车", "车业"), ("化工", "新材料", "化学"), ("食品", "饮料", "农业"),
    ("建设", "建筑工程", "建材"),
)  # fmt: skip
_NAME_PREFIXES: tuple[str, ...] = (
    "Northwind", "Blue River", "Summit", "Pacific", "Atlas", "Evergreen", "Silverline",
    "Redwood", "Harbor", "Keystone", "Pinnacle", "Crescent", "Granite", "Meridian", "Orion",
    "Sterling", "Vertex", "Horizon", "Liberty", "Cedar", "Falcon", "Riverside", "Lakeside",
    "Iron Bridge", "Clearwater", "Maple", "Oakmont", "Westbrook", "Eastfield", "Brightstone",
    "Nordic", "Alpine", "Coastal", "Highland", "Prairie", "Union", "Crown", "Beacon",
    "Vanguard", "Aurora",
)  # fmt: skip
_NAME_MIDDLES: tuple[str, ...] = (
    "", "", "", "Precision", "Global", "United", "Advanced", "General", "International",
    "Continental", "Premier", "Integrated", "Applied", "Modern", "Allied",
)  # fmt: skip
_ZH_CITIES: tuple[str, ...] = (
    "上海", "北京", "深圳", "广州", "杭州", "南京", "苏州", "天津", "重庆", "成都", "武汉",
    "西安", "宁波", "青岛", "厦门", "无锡", "佛山", "东莞", "长沙", "郑州",
)  # fmt: skip
_ZH_BRAND_CHARS = "华联新达宏远盛恒泰鑫瑞丰通海金嘉安中利隆鼎信永元昌晟博创汇德"
_ZH_SUFFIXES: tuple[str, ...] = ("有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司")
_ZH_SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
    ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"),
    ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"),
    ("何", "He"), ("高", "Gao"), ("林", "Lin"), ("罗", "Luo"),
)  # fmt: skip
_ZH_GIVEN: tuple[tuple[str, str], ...] = (
    ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"),
    ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"),
    ("艳", "Yan"), ("杰", "Jie"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"),
    ("秀英", "Xiuying"), ("建华", "Jianhua"), ("晓东", "Xiaodong"), ("海燕", "Haiyan"),
    ("志强", "Zhiqiang"), ("雪梅", "Xuemei"), ("国平", "Guoping"), ("丹", "Dan"),
)  # fmt: skip
_EN_FIRST: tuple[str, ...] = (
    "Emily", "James", "Olivia", "Michael", "Sophia", "Daniel", "Emma", "David", "Laura",
    "Thomas", "Anna", "Robert", "Julia", "Mark", "Sarah", "Peter", "Claire", "Lucas",
    "Marie", "Jonas", "Hannah", "Pierre", "Isabel", "Carlos", "Grace", "Oliver", "Nina",
    "Samuel", "Chloe", "Felix",
)  # fmt: skip
_EN_LAST: tuple[str, ...] = (
    "Johnson", "Smith", "Miller", "Brown", "Davis", "Wilson", "Taylor", "Anderson",
    "Martin", "Clark", "Walker", "Wright", "Müller", "Schmidt", "Fischer", "Weber",
    "Dubois", "Laurent", "Moreau", "de Vries", "Jansen", "Silva", "Santos", "García",
    "Hughes", "Evans", "O'Brien", "Nguyen", "Patel", "Kowalski",
)  # fmt: skip
_JP_FIRST: tuple[str, ...] = ("Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Kenji", "Yuki")
_JP_LAST: tuple[str, ...] = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto")
_OWNER_EN: tuple[tuple[str, str], ...] = (
    ("Emily", "Carter"), ("James", "Walker"), ("Sophie", "Laurent"), ("Daniel", "Fischer"),
    ("Olivia", "Hughes"), ("Lucas", "Moreau"), ("Hannah", "Weber"), ("Michael", "Brennan"),
    ("Grace", "Thompson"), ("Jonas", "Becker"), ("Isabel", "Santos"), ("Oliver", "Grant"),
    ("Laura", "Jansen"), ("Samuel", "Reed"),
)  # fmt: skip
_OWNER_ZH: tuple[tuple[str, str, str], ...] = (
    ("王伟", "wei", "wang"), ("李娜", "na", "li"), ("张敏", "min", "zhang"),
    ("陈静", "jing", "chen"), ("刘洋", "yang", "liu"), ("杨磊", "lei", "yang"),
    ("赵丽", "li", "zhao"), ("黄涛", "tao", "huang"),
)  # fmt: skip
_MANAGERS: dict[str, str] = {
    "Americas": "helen.carter@kam-demo.example.com",
    "Europe": "markus.weber@kam-demo.example.com",
    "Asia Pacific": "kenji.sato@kam-demo.example.com",
    "Greater China": "jianhua.li@kam-demo.example.com",
}
_EMAIL_DOMAIN = "kam-demo.example.com"
_DM_ROLES: tuple[str, ...] = (
    "CEO", "General Manager", "Purchasing Director", "CFO", "Head of Procurement",
)  # fmt: skip
_OTHER_ROLES: tuple[str, ...] = (
    "Buyer", "Procurement Manager", "Operations Manager", "Engineer", "Finance Manager",
    "Quality Manager", "Logistics Coordinator", "Project Manager",
)  # fmt: skip
# category, item nouns, median unit cost (USD), markup range over cost
_PRODUCT_CATEGORIES: tuple[tuple[str, tuple[str, ...], float, float, float], ...] = (
    ("Raw Materials", ("Steel Coil", "Aluminium Sheet", "Copper Wire", "Polymer Resin"),
     40.0, 0.15, 0.35),
    ("Components", ("Bearing", "Gearbox", "Valve", "Sensor", "Connector"), 60.0, 0.35, 0.7),
    ("Equipment", ("Hydraulic Pump", "Compressor", "Conveyor Module", "Control Cabinet"),
     900.0, 0.25, 0.5),
    ("Consumables", ("Lubricant", "Filter Cartridge", "Cutting Disc", "Sealant"), 12.0, 0.6, 1.2),
    ("Spare Parts", ("Seal Kit", "Drive Belt", "Motor Brush", "Pressure Gauge"), 25.0, 0.9, 1.8),
    ("Services", ("Maintenance Plan", "On-site Training", "Calibration Service"), 300.0, 0.6, 1.3),
    ("Software", ("Monitoring License", "Analytics Seat", "Fleet Portal"), 150.0, 1.5, 3.0),
)  # fmt: skip
_ACTIVITY_TYPES: tuple[str, ...] = ("email", "call", "meeting", "visit", "event")
_ACTIVITY_P = np.array([0.35, 0.30, 0.20, 0.10, 0.05])
_COMPETITORS = np.array([
    "Globex Corporation", "Apex Industrial", "Initech Supply", "Nordwerk AG",
    "Vandelay Industries", "中联重工", "华东精工", "Stark Components",
])  # fmt: skip
_LOST_REASONS = np.array(
    ["price", "competitor", "no_budget", "no_decision", "timing", "product_fit"]
)
_LOST_P = np.array([0.30, 0.25, 0.15, 0.15, 0.10, 0.05])
_TICKET_CATEGORIES: tuple[str, ...] = ("complaint", "request", "incident")
_PRIORITIES: tuple[str, ...] = ("low", "medium", "high", "urgent")
_STAGES = np.array(["qualification", "needs_analysis", "proposal", "negotiation"])
_STAGE_P = np.array([0.10, 0.25, 0.50, 0.75])


# --------------------------------------------------------------------------- helpers


def _ids_padded(prefix: str, number: Array, width: int, valid: Array | None) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(number), pa.string()), width, "0")
    ids = pc.binary_join_element_wise(prefix, digits, "")
    if valid is not None:
        ids = pc.if_else(pa.array(np.asarray(valid, dtype=bool)), ids, pa.scalar(None, pa.string()))
    return ids


def _ids(prefix: str, index: Array, width: int, valid: Array | None = None) -> pa.Array:
    """String IDs ``prefix`` + zero-padded ``index + 1``; null where not ``valid``.

    Where every number fits ``width`` digits, the IDs are one fixed-width byte matrix made
    with numpy and handed to Arrow as its buffers (the same strings as the padded
    ``utf8_lpad`` path, several times faster on millions of rows)."""
    number = np.asarray(index, dtype=np.int64) + 1
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    size = head.size + width
    if number.size == 0 or number.min() < 0 or number.max() >= 10**width or (
        number.size * size >= 2**31
    ):
        return _ids_padded(prefix, number, width, valid)
    data = np.empty((number.size, size), dtype=np.uint8)
    data[:, : head.size] = head
    put_digits(data, head.size, width, number)
    return fixed_width_strings(data, valid)


def _text(values: Array, valid: Array | None = None) -> pa.Array:
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(values, type=pa.string(), mask=mask)


def _labels(options: Sequence[str]) -> Callable[[Array], pa.Array]:
    """Map integer codes to the labels ``options`` (as plain strings)."""
    dictionary = pa.array(list(options), type=pa.string())

    def render(codes: Array) -> pa.Array:
        idx = pa.array(np.asarray(codes, dtype=np.int32))
        return pa.DictionaryArray.from_arrays(idx, dictionary).cast(pa.string())

    return render


def _cadence(
    rng: np.random.Generator, start: Array, end: Array, interval: Array, jitter: float
) -> tuple[Array, Array]:
    """Regular, jittered event times per group between ``start`` and ``end`` (days).

    Returns ``(group index, time)``; consecutive gaps stay within
    ``(1 +- 2 * jitter) * interval`` so ordinary customers keep their cadence.
    """
    phase = rng.random(start.size)
    span = np.where(end > start, end - start, 0.0)
    n = np.maximum(0, np.floor(span / interval - phase).astype(np.int64) + 1)
    n[end <= start] = 0
    grp = np.repeat(np.arange(start.size), n)
    k = np.arange(grp.size) - np.repeat(np.cumsum(n) - n, n)
    j = rng.uniform(-jitter, jitter, grp.size)
    t = start[grp] + (k + phase[grp] + j) * interval[grp]
    t = np.clip(t, start[grp], end[grp])
    return grp, t


def _day_time(rng: np.random.Generator, t: Array) -> Array:
    """Move each time to business hours (08:00-18:00 UTC) of its day."""
    return np.floor(t) + rng.uniform(8 / 24, 18 / 24, t.size)


def _choice(rng: np.random.Generator, options: Array, p: Array, n: int) -> Array:
    return options[rng.choice(options.size, size=n, p=p / p.sum())]


def _round_money(x: Array, currency_idx: Array) -> Array:
    """Round to cents, JPY to whole yen."""
    jpy = CURRENCIES.index("JPY")
    return np.where(currency_idx == jpy, np.round(x, 0), np.round(x, 2))


def _between(rng: np.random.Generator, lo: Any, hi: Any) -> Array:
    """Uniform draws between ``lo`` and ``hi`` (arrays or scalars, broadcast)."""
    lo_a, hi_a = np.broadcast_arrays(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    return np.asarray(lo_a + (hi_a - lo_a) * rng.random(lo_a.shape))


def _group_uniform_pick(rng: np.random.Generator, first: Array, count: Array) -> Array:
    """One random member index ``first + U{0..count-1}`` per row."""
    return first + np.floor(rng.random(first.size) * count).astype(np.int64)


# --------------------------------------------------------------------------- world


@dataclass(frozen=True)
class AccountPlans:
    """One entry per plan: account index, period (days from the anchor), targets in the
    account's currency, currency index, objective, when drafted, activated and closed, and
    the owner index at drafting."""

    acc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    revenue: np.ndarray
    margin: np.ndarray
    currency: np.ndarray
    objective: np.ndarray
    created: np.ndarray
    activated: np.ndarray
    closed: np.ndarray
    owner: np.ndarray


@dataclass(frozen=True)
class SharedTables:
    """What every region of a federated world (``kam_transforms.demo_data``) has in common:
    the daily fx rates and the product catalogue, those of region 0."""

    fx: np.ndarray
    fx_day0: int
    product_name: np.ndarray
    product_category: np.ndarray
    unit_cost_usd: np.ndarray
    list_price_usd: np.ndarray


class _World:
    """Every row that ever exists up to ``anchor``, with the times of its state changes.

    Times are float days relative to ``anchor`` 00:00 UTC (negative = before anchor).
    ``region`` > 0 makes a further region of a federated world: its owners' e-mails carry
    ``.r<region>`` so they stay unique, and it takes the fx rates and products of ``shared``
    (region 0's) instead of drawing its own.
    """

    def __init__(
        self, customers: int, seed: int, anchor: date, *, region: int = 0,
        shared: SharedTables | None = None,
    ) -> None:  # fmt: skip
        self.n_customers = customers
        self.seed = seed
        self.anchor = anchor
        self.region_no = region
        self.plans: AccountPlans | None = None  # planted by demo_plans
        children = np.random.SeedSequence(seed).spawn(12)
        self._rngs = [np.random.default_rng(c) for c in children]
        if shared is None:
            self._build_fx(self._rngs[0])
        else:
            self.fx, self.fx_day0 = shared.fx, shared.fx_day0
        self._build_accounts(self._rngs[1])
        self._build_owners_assignment(self._rngs[2])
        if shared is None:
            self._build_products(self._rngs[3])
        else:
            self.product_name, self.product_category = shared.product_name, shared.product_category
            self.unit_cost_usd, self.list_price_usd = shared.unit_cost_usd, shared.list_price_usd
            self.n_products = shared.product_name.size
        self._build_orders(self._rngs[4])
        self._build_invoices(self._rngs[5])
        self._build_contacts(self._rngs[6])
        self._build_activities(self._rngs[7])
        self._build_opportunities(self._rngs[8])
        self._build_tickets(self._rngs[9])
        self._build_surveys(self._rngs[10])

    # ------------------------------------------------------------------ fx
    def _build_fx(self, rng: np.random.Generator) -> None:
        days = HISTORY_DAYS + 1  # day -HISTORY_DAYS .. 0
        rates = np.empty((len(CURRENCIES), days))
        for i, cur in enumerate(CURRENCIES):
            level, vol = _FX[cur]
            steps = rng.normal(0.0, vol / np.sqrt(365.0), days)
            steps[0] = 0.0
            walk = np.cumsum(steps)
            walk -= np.linspace(0.0, walk[-1] * 0.5, days)  # keep levels plausible
            rates[i] = np.round(level * np.exp(walk), 8) if vol else 1.0
        self.fx = rates
        self.fx_day0 = -HISTORY_DAYS

    def shared_tables(self) -> SharedTables:
        return SharedTables(
            self.fx, self.fx_day0, self.product_name, self.product_category,
            self.unit_cost_usd, self.list_price_usd,
        )  # fmt: skip

    def id_counts(self) -> dict[str, int]:
        """Rows of the world per ID prefix (every row, whatever the as-of date): the offsets
        of the next region's IDs. Products are shared, so they have none."""
        return {
            "OWN-": self.n_owners, "ACC-": self.n_accounts, "CUS-": self.n_customers,
            "CON-": self.c_acc.size, "ACT-": self.a_t.size, "OPP-": self.op_acc.size,
            "TIC-": self.t_acc.size, "SRV-": self.s_t.size,
            "PLN-": 0 if self.plans is None else self.plans.acc.size,
            "ORD-": self.o_t.size, "OLN-": self.l_order.size, "INV-": self.i_t.size,
            "PAY-": self.p_t.size,
        }  # fmt: skip

    def rate(self, currency_idx: Array, t: Array) -> Array:
        """USD per unit of currency on the day of ``t``."""
        day = np.clip(np.floor(t).astype(np.int64) - self.fx_day0, 0, self.fx.shape[1] - 1)
        return self.fx[currency_idx, day]

    # ------------------------------------------------------------------ accounts
    def _build_accounts(self, rng: np.random.Generator) -> None:
        n = self.n_customers
        p = max(3, round(0.075 * n))
        a = n + p
        self.n_prospects, self.n_accounts = p, a
        is_cust = np.arange(a) < n

        value = rng.lognormal(0.0, 1.6, n)
        value /= np.median(value)
        pct = np.empty(n)
        pct[np.argsort(value)] = np.arange(n) / max(n - 1, 1)
        rank = np.argsort(-value, kind="stable")

        weights = np.array([c[3] for c in _COUNTRIES])
        country = rng.choice(len(_COUNTRIES), size=a, p=weights / weights.sum())
        industry = rng.integers(len(_INDUSTRIES), size=a)

        old = rng.random(n) < 0.65
        created_c = np.where(
            old, -rng.uniform(HISTORY_DAYS + 30, 3650, n), -rng.uniform(120, HISTORY_DAYS - 30, n)
        )
        created_p = -rng.uniform(10, 720, p)
        created = np.concatenate([created_c, created_p])
        churn = np.where(rng.random(n) < 0.06, 1.0, np.nan)

        # --- scenarios (indices into accounts; customers share their index)
        def at(q: float) -> int:
            return int(rank[min(n - 1, int(q * n))])

        scen = {
            "declining_key_account": int(rank[0]),
            "account_manager_change": int(rank[1]),
            "zh_owner_key_account": int(rank[2]),
            "key_contact_left": int(rank[3]),
            "competitor_loss": int(rank[4]),
            "unresolved_complaint": int(rank[5]),
            "no_recent_touchpoint": int(rank[6]),
            "overdue_invoices": int(rank[7]),
            "fast_growing_potential": at(0.5),
            "inactive_owner_account": at(0.45),
            "churned": at(0.2),
            "prospect": n,
        }
        self.scenarios = scen
        scen_cust = np.array([v for k, v in scen.items() if k != "prospect"])
        self.is_scenario = np.zeros(a, dtype=bool)
        self.is_scenario[list(scen.values())] = True
        created[scen_cust] = -rng.uniform(4 * 365, 8 * 365, scen_cust.size)
        created[scen["prospect"]] = -400.0 - rng.random()
        churn[scen_cust] = np.nan
        country[scen["declining_key_account"]] = _US
        country[scen["zh_owner_key_account"]] = _CN
        for k in ("account_manager_change", "fast_growing_potential", "key_contact_left"):
            if country[scen[k]] == _CN:
                country[scen[k]] = _US  # keep these with en owners for variety

        erp_created = created[:n] + rng.uniform(1, 60, n)
        order_start = np.maximum(erp_created + rng.uniform(5, 40, n), -HISTORY_DAYS + 0.0)
        churn_t = np.where(
            np.isnan(churn), np.nan, _between(rng, order_start + 120, -20.0)
        )
        churn_t[order_start + 120 >= -20.0] = np.nan
        churn_t[scen["churned"]] = -420.0 - rng.random()
        order_end = np.where(np.isnan(churn_t), 0.9, churn_t)

        self.value, self.pct, self.rank = value, pct, rank
        self.country, self.industry, self.created = country, industry, created
        self.is_customer = is_cust
        self.currency = np.array([CURRENCIES.index(_COUNTRIES[c][2]) for c in country])
        self.erp_created, self.order_start, self.order_end = erp_created, order_start, order_end
        self.churn_t = churn_t
        self.annual_usd = 60_000.0 * value

        # names
        self.account_name = self._company_names(rng, country, industry)
        cc = np.array([c[0] for c in _COUNTRIES])[country]
        self.country_code = cc
        self.region = np.array([c[1] for c in _COUNTRIES])[country]
        emp = np.round(40 * np.concatenate([value, rng.lognormal(0, 1, p)]) ** 0.6
                       * rng.lognormal(0, 0.5, a)) + 5
        self.employee_count = emp.astype(np.int64)
        self.profile_t = _between(rng, created, 0.0)
        self.erp_profile_t = _between(rng, erp_created, 0.0)

        # parents: a few accounts belong to a group account created before them
        group = rank[: max(2, n // 10)]
        group = group[np.argsort(created[group], kind="stable")]
        eligible = np.searchsorted(created[group], created, side="left")
        cand_mask = ~self.is_scenario & (eligible > 0)
        cand_mask[group] = False
        cands = np.flatnonzero(cand_mask)
        n_child = min(cands.size, max(3, round(0.03 * a)))
        child = np.sort(rng.choice(cands, size=n_child, replace=False))
        parent = np.full(a, -1)
        parent[child] = group[np.floor(rng.random(n_child) * eligible[child]).astype(np.int64)]
        self.parent = parent

        deleted = (~is_cust) & (rng.random(a) < 0.03) & ~self.is_scenario
        self.deleted_t = np.where(deleted, _between(rng, created + 5, 0.0), np.nan)

        terms_opts = np.array([30, 45, 60, 90])
        terms = terms_opts[rng.choice(4, size=n, p=[0.45, 0.2, 0.25, 0.1])]
        terms[country[:n] == _CN] = terms_opts[rng.choice(4, size=int((country[:n] == _CN).sum()),
                                                          p=[0.1, 0.2, 0.4, 0.3])]
        self.terms = terms
        limit = self.annual_usd * 0.25 / self.rate(self.currency[:n], np.zeros(n))
        self.credit_limit = (np.round(limit, -3) + 5_000).astype(np.int64)
        digits = rng.integers(0, 10**9, n)
        region_code = rng.integers(110000, 660000, n)
        check = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))[rng.integers(31, size=n)]
        self.tax_id = np.array([
            f"91{r}{d:09d}{ch}" if c == "CN" else f"{c}{d:09d}"
            for c, r, d, ch in zip(cc[:n], region_code, digits, check, strict=True)
        ])
        self.base_discount = np.clip(
            0.02 + 0.10 * pct + rng.normal(0, 0.015, n)
            + np.where(rng.random(n) < 0.05, 0.10, 0.0), 0.0, 0.35)
        self.price_factor = rng.uniform(0.97, 1.05, n)
        self.satisfaction = rng.normal(7.6, 1.2, a)

    def _company_names(self, rng: np.random.Generator, country: Array, industry: Array) -> Array:
        a = country.size
        pre = rng.integers(len(_NAME_PREFIXES), size=a)
        mid = rng.integers(len(_NAME_MIDDLES), size=a)
        word = rng.integers(3, size=a)
        legal = rng.integers(6, size=a)
        city = rng.integers(len(_ZH_CITIES), size=a)
        b1 = rng.integers(len(_ZH_BRAND_CHARS), size=a)
        b2 = (b1 + 1 + rng.integers(len(_ZH_BRAND_CHARS) - 1, size=a)) % len(_ZH_BRAND_CHARS)
        suf = rng.integers(len(_ZH_SUFFIXES), size=a)
        sur = rng.integers(len(_EN_LAST), size=(a, 2))
        style = rng.random(a) < 0.3
        names = []
        for i in range(a):
            c = _COUNTRIES[country[i]][0]
            ind = industry[i]
            if c == "CN":
                names.append(
                    _ZH_CITIES[city[i]] + _ZH_BRAND_CHARS[b1[i]] + _ZH_BRAND_CHARS[b2[i]]
                    + _INDUSTRY_WORDS_ZH[ind][word[i]] + _ZH_SUFFIXES[suf[i]]
                )
                continue
            forms = _LEGAL_FORMS[c]
            lf = forms[legal[i] % len(forms)]
            w = _INDUSTRY_WORDS_EN[ind][word[i]]
            if style[i]:
                head = f"{_EN_LAST[sur[i, 0]]} & {_EN_LAST[(sur[i, 0] + 1 + sur[i, 1]) % 30]}"
            else:
                m = _NAME_MIDDLES[mid[i]]
                head = f"{_NAME_PREFIXES[pre[i]]} {m}".rstrip()
            names.append(f"{head} {w} {lf}")
        return np.array(names)

    # ------------------------------------------------------------------ owners
    def _build_owners_assignment(self, rng: np.random.Generator) -> None:
        n, a = self.n_customers, self.n_accounts
        k = int(min(20, max(10, n // 20)))
        n_zh = max(3, round(0.35 * k))
        n_en = k - n_zh
        foci_cycle = ("Americas", "Europe", "Asia Pacific")
        names, emails, locales, foci = [], [], [], []
        tag = f".r{self.region_no}" if self.region_no else ""  # unique across regions
        for i in range(n_en):
            first, last = _OWNER_EN[i % len(_OWNER_EN)]
            suffix = "" if i < len(_OWNER_EN) else str(i // len(_OWNER_EN) + 1)
            names.append(f"{first} {last}")
            emails.append(f"{first.lower()}.{last.lower()}{suffix}{tag}@{_EMAIL_DOMAIN}")
            locales.append("en")
            foci.append(foci_cycle[i % 3])
        for i in range(n_zh):
            full, given, sur = _OWNER_ZH[i % len(_OWNER_ZH)]
            suffix = "" if i < len(_OWNER_ZH) else str(i // len(_OWNER_ZH) + 1)
            names.append(full)
            emails.append(f"{given}.{sur}{suffix}{tag}@{_EMAIL_DOMAIN}")
            locales.append("zh-CN")
            foci.append("Greater China")
        focus = np.array(foci)
        n_inactive = 2 if k >= 14 else 1
        inactive = list(range(n_en - n_inactive, n_en))  # last en owners
        deact = np.full(k, np.nan)
        deact[inactive] = -rng.uniform(200, 500, n_inactive)
        self.owner_name = np.array(names)
        self.owner_email = np.array(emails)
        self.owner_locale = np.array(locales)
        self.owner_manager = np.array([_MANAGERS[f] for f in foci])
        self.owner_team = focus
        self.owner_deact = deact
        self.n_owners = k

        acc_focus = np.array([_COUNTRIES[c][4] for c in self.country])
        active_now = np.isnan(deact)
        initial = np.empty(a, dtype=np.int64)
        for f in ("Americas", "Europe", "Asia Pacific", "Greater China"):
            members = np.flatnonzero(acc_focus == f)
            pool = np.flatnonzero(focus == f)
            active_pool = np.flatnonzero((focus == f) & active_now)
            draw = pool[rng.integers(pool.size, size=members.size)]
            late = ~np.isnan(deact[draw]) & (self.created[members] >= np.nan_to_num(deact[draw]))
            draw[late] = active_pool[rng.integers(active_pool.size, size=int(late.sum()))]
            initial[members] = draw
        # scenario owners: declining -> active en (Americas); zh -> active zh-CN
        scen = self.scenarios
        am_active = np.flatnonzero((focus == "Americas") & active_now)
        zh_active = np.flatnonzero((focus == "Greater China") & active_now)
        initial[scen["declining_key_account"]] = am_active[0]
        initial[scen["zh_owner_key_account"]] = zh_active[0]
        initial[scen["inactive_owner_account"]] = inactive[0]
        self.created[scen["inactive_owner_account"]] = min(
            self.created[scen["inactive_owner_account"]], deact[inactive[0]] - 400
        )

        change_t = np.full(a, np.nan)
        new_owner = initial.copy()
        rand = (rng.random(a) < 0.06) & ~self.is_scenario
        lo = self.created + 60
        rand &= lo < -1
        change_t[rand] = _between(rng, lo[rand], -1.0)
        # accounts of deactivated owners move to an active colleague
        moved = ~np.isnan(deact[initial])
        moved[scen["inactive_owner_account"]] = False
        change_t[moved] = deact[initial[moved]] + rng.uniform(1, 14, int(moved.sum()))
        # the recent change
        amc = scen["account_manager_change"]
        change_t[amc] = -45.0 + rng.uniform(0.3, 0.7)
        changed = ~np.isnan(change_t)
        for f in ("Americas", "Europe", "Asia Pacific", "Greater China"):
            active_pool = np.flatnonzero((focus == f) & active_now)
            if active_pool.size < 2:  # hand over to a colleague of the same language
                same_locale = self.owner_locale == self.owner_locale[focus == f][0]
                active_pool = np.flatnonzero(same_locale & active_now)
            members = np.flatnonzero(changed & (focus[initial] == f))
            pick = active_pool[rng.integers(active_pool.size, size=members.size)]
            same = pick == initial[members]
            if active_pool.size > 1:
                pos = np.searchsorted(active_pool, pick[same])
                pick[same] = active_pool[(pos + 1) % active_pool.size]
            new_owner[members] = pick
        keep = changed & (new_owner == initial)
        change_t[keep] = np.nan
        self.initial_owner, self.new_owner, self.change_t = initial, new_owner, change_t

    def owner_at(self, account: Array, t: Array) -> Array:
        changed = ~np.isnan(self.change_t[account]) & (self.change_t[account] <= t)
        return np.where(changed, self.new_owner[account], self.initial_owner[account])

    # ------------------------------------------------------------------ products
    def _build_products(self, rng: np.random.Generator) -> None:
        k = int(min(500, 60 + self.n_customers // 50))
        cat = rng.integers(len(_PRODUCT_CATEGORIES), size=k)
        noun = rng.integers(5, size=k)
        names, costs, markups = [], [], []
        model = rng.integers(100, 990, size=k)
        series = np.array(list("ABCDEFGHKLMPRSTX"))[rng.integers(16, size=k)]
        for i in range(k):
            cname, nouns, median, lo, hi = _PRODUCT_CATEGORIES[cat[i]]
            item = nouns[noun[i] % len(nouns)]
            names.append(f"{item} {series[i]}{model[i]}")
            costs.append(median * float(rng.lognormal(0, 0.6)))
            markups.append(float(rng.uniform(lo, hi)))
        # unique names: suffix a revision letter on repeats
        seen: dict[str, int] = {}
        for i, nm in enumerate(names):
            seen[nm] = seen.get(nm, 0) + 1
            if seen[nm] > 1:
                names[i] = f"{nm}-{seen[nm]}"
        self.product_name = np.array(names)
        self.product_category = np.array([c[0] for c in _PRODUCT_CATEGORIES])[cat]
        self.unit_cost_usd = np.round(np.array(costs), 2)
        self.list_price_usd = self.unit_cost_usd * (1 + np.array(markups))
        self.n_products = k

    # ------------------------------------------------------------------ orders and lines
    def _build_orders(self, rng: np.random.Generator) -> None:
        n = self.n_customers
        scen = self.scenarios
        lam = np.clip(6.0 * self.value**0.35, 5.0, 30.0)
        interval = 365.0 / lam
        grp, t = _cadence(rng, self.order_start, self.order_end, interval, 0.25)
        mult = np.ones(t.size)

        decl, fast = scen["declining_key_account"], scen["fast_growing_potential"]
        drop = ((grp == decl) | (grp == fast)) & (t > -365.0)
        grp, t, mult = grp[~drop], t[~drop], mult[~drop]
        decl_t = -np.array([350.0, 318, 284, 247, 208, 168, 130, 96]) + rng.uniform(-2, 2, 8)
        g2, t2 = _cadence(
            rng, np.array([-364.0]), np.array([0.9]), np.array([interval[fast] / 1.8]), 0.2
        )
        grp = np.concatenate([grp, np.full(decl_t.size, decl), np.full(t2.size, fast)])
        t = np.concatenate([t, decl_t, t2])
        mult = np.concatenate([mult, np.full(decl_t.size, 0.8), np.full(t2.size, 1.8)])

        t = _day_time(rng, t)
        order = np.lexsort((grp, t))
        grp, t, mult = grp[order], t[order], mult[order]
        m = t.size

        growth = rng.normal(0.03, 0.12, n)
        sigma = np.where(self.is_scenario[:n], 0.08, 0.3)
        growth[self.is_scenario[:n]] = 0.0
        noise = rng.lognormal(-(sigma[grp] ** 2) / 2, sigma[grp])
        value_usd = (self.annual_usd[grp] / lam[grp]) * mult * noise * np.exp(growth[grp] * t / 365)

        cancelled = (rng.random(m) < 0.02) & ~self.is_scenario[grp]
        cancel_t = np.where(cancelled, t + rng.uniform(0.05, 0.5, m), np.nan)
        deliver_t = np.where(cancelled, np.nan, t + rng.uniform(1.0, 6.0, m))
        self.o_cust, self.o_t, self.o_cancel_t, self.o_deliver_t = grp, t, cancel_t, deliver_t
        self.o_cur = self.currency[grp]
        self.n_orders = m

        # lines
        p_lines = 0.15 + 0.35 * self.pct
        n_lines = 1 + rng.binomial(4, p_lines[grp])
        lo = np.repeat(np.arange(m), n_lines)
        cust = grp[lo]
        offset = rng.integers(self.n_products, size=n)
        prod = (offset[cust] + rng.geometric(0.12, lo.size) - 1) % self.n_products
        w = rng.uniform(0.5, 1.5, lo.size)
        w /= np.bincount(lo, weights=w, minlength=m)[lo]
        raw_disc = self.base_discount[cust] + rng.normal(0, 0.015, lo.size)
        disc = np.round(np.clip(raw_disc, 0, 0.4), 3)
        list_usd = self.list_price_usd[prod] * self.price_factor[cust]
        qty = np.maximum(1, np.round(value_usd[lo] * w / (list_usd * (1 - disc)))).astype(np.int64)
        cur = self.o_cur[lo]
        r = self.rate(cur, t[lo])
        unit_price = _round_money(list_usd / r, cur)
        unit_cost = _round_money(self.unit_cost_usd[prod] / r, cur)
        self.l_order, self.l_prod, self.l_qty = lo, prod, qty
        self.l_price, self.l_disc, self.l_cost = unit_price, disc, unit_cost
        net = qty * unit_price * (1 - disc)
        self.o_amount = _round_money(np.bincount(lo, weights=net, minlength=m), self.o_cur)

    # ------------------------------------------------------------------ invoices, payments
    def _build_invoices(self, rng: np.random.Generator) -> None:
        n = self.n_customers
        inv_orders = np.flatnonzero(~np.isnan(self.o_deliver_t))
        k = inv_orders.size
        cust = self.o_cust[inv_orders]
        inv_t = self.o_deliver_t[inv_orders]
        due_day = np.floor(inv_t) + self.terms[cust]
        kind = rng.choice(3, size=n, p=[0.82, 0.14, 0.04])
        base = np.where(
            kind == 0, rng.normal(-3, 3, n),
            np.where(kind == 1, rng.uniform(5, 25, n), rng.uniform(20, 50, n)),
        )
        base[self.is_scenario[:n]] = -2.0
        delay = base[cust] + rng.normal(0, 3, k)
        pay_t = np.maximum(due_day + delay + rng.uniform(0.3, 0.7, k), inv_t + 1.0)
        never = (rng.random(k) < 0.003) & ~self.is_scenario[cust]
        od = self.scenarios["overdue_invoices"]
        never |= (cust == od) & (due_day >= -300) & (due_day <= -61)
        pay_t[never] = np.nan
        partial = (rng.random(k) < 0.06) & ~never
        first_t = np.maximum(pay_t - rng.uniform(10, 30, k), inv_t + 0.5)
        share = rng.uniform(0.3, 0.7, k)
        amount = self.o_amount[inv_orders]
        cur = self.o_cur[inv_orders]
        first_amt = _round_money(amount * share, cur)

        self.i_order, self.i_cust, self.i_t, self.i_due_day = inv_orders, cust, inv_t, due_day
        self.i_amount, self.i_cur, self.n_invoices = amount, cur, k
        # payments: partial first instalments, then the (remaining) full payments
        pi = np.concatenate([np.flatnonzero(partial), np.flatnonzero(~never)])
        pt = np.concatenate([first_t[partial], pay_t[~never]])
        pa_ = np.concatenate([
            first_amt[partial],
            np.where(partial[~never], amount[~never] - first_amt[~never], amount[~never]),
        ])
        pa_ = _round_money(pa_, cur[pi])
        order = np.lexsort((pi, pt))
        self.p_inv, self.p_t, self.p_amount = pi[order], pt[order], pa_[order]

    # ------------------------------------------------------------------ contacts
    def _build_contacts(self, rng: np.random.Generator) -> None:
        a = self.n_accounts
        pct_a = np.concatenate([self.pct, np.full(self.n_prospects, 0.2)])
        cnt = 1 + rng.binomial(5, 0.12 + 0.5 * pct_a)
        cnt[~self.is_customer] = 1 + rng.binomial(2, 0.3, self.n_prospects)
        cnt[self.is_scenario] = np.maximum(cnt[self.is_scenario], 3)
        acc = np.repeat(np.arange(a), cnt)
        first = np.cumsum(cnt) - cnt
        is_first = np.zeros(acc.size, dtype=bool)
        is_first[first] = True
        c = acc.size
        created = np.where(
            is_first,
            self.created[acc] + rng.uniform(0, 5, c),
            _between(rng, self.created[acc], np.maximum(self.created[acc] + 1, -30.0)),
        )
        dm = is_first | (rng.random(c) < 0.2)
        leaves = (rng.random(c) < 0.07) & ~self.is_scenario[acc]
        lo = created + 30
        leaves &= lo < -1
        left_t = np.full(c, np.nan)
        left_t[leaves] = _between(rng, lo[leaves], -1.0)
        kcl = self.scenarios["key_contact_left"]
        left_t[first[kcl]] = -40.0 + rng.uniform(0.3, 0.7)
        role = np.where(
            dm,
            np.array(_DM_ROLES)[rng.integers(len(_DM_ROLES), size=c)],
            np.array(_OTHER_ROLES)[rng.integers(len(_OTHER_ROLES), size=c)],
        )
        self.c_acc, self.c_created, self.c_left = acc, created, left_t
        self.c_dm, self.c_role = dm, role
        self.c_first, self.c_count = first, cnt
        self.c_name = self._person_names(rng, self.country_code[acc])
        self.c_profile_t = _between(rng, created, np.fmin(left_t, 0.0))
        self.n_contacts = c

    def _person_names(self, rng: np.random.Generator, country_code: Array) -> Array:
        m = country_code.size
        s = rng.integers(len(_ZH_SURNAMES), size=m)
        g = rng.integers(len(_ZH_GIVEN), size=m)
        zh = np.array([x[0] for x in _ZH_SURNAMES])[s] + np.array([x[0] for x in _ZH_GIVEN])[g]
        f = np.array(_EN_FIRST)[rng.integers(len(_EN_FIRST), size=m)]
        last = np.array(_EN_LAST)[rng.integers(len(_EN_LAST), size=m)]
        en = np.strings.add(np.strings.add(f, " "), last)
        jf = np.array(_JP_FIRST)[rng.integers(len(_JP_FIRST), size=m)]
        jl = np.array(_JP_LAST)[rng.integers(len(_JP_LAST), size=m)]
        jp = np.strings.add(np.strings.add(jf, " "), jl)
        return np.where(country_code == "CN", zh, np.where(country_code == "JP", jp, en))

    # ------------------------------------------------------------------ activities
    def _build_activities(self, rng: np.random.Generator) -> None:
        pct_a = np.concatenate([self.pct, np.full(self.n_prospects, 0.0)])
        interval = np.where(self.is_customer, 100.0 - 80.0 * pct_a**1.2, 45.0)
        start = np.maximum(self.created + 1.0, -HISTORY_DAYS)
        churn = np.concatenate([self.churn_t, np.full(self.n_prospects, np.nan)])
        end = np.where(np.isnan(churn), 0.9, churn + 180.0)  # win-back attempts
        dt = self.deleted_t
        end = np.where(np.isnan(dt), end, np.minimum(end, dt))
        acc, t = _cadence(rng, start, end, interval, 0.35)
        nt = self.scenarios["no_recent_touchpoint"]
        keep = ~((acc == nt) & (t > -150.0))
        # nobody looks after the account of the deactivated owner any more
        io = self.scenarios["inactive_owner_account"]
        keep &= ~((acc == io) & (t > self.owner_deact[self.initial_owner[io]]))
        acc, t = acc[keep], _day_time(rng, t[keep])
        t = np.maximum(t, self.created[acc] + 0.01)
        order = np.lexsort((acc, t))
        self.a_acc, self.a_t = acc[order], t[order]
        self.a_type = rng.choice(len(_ACTIVITY_TYPES), size=t.size, p=_ACTIVITY_P)
        self.a_owner = self.owner_at(self.a_acc, self.a_t)

    # ------------------------------------------------------------------ opportunities
    def _build_opportunities(self, rng: np.random.Generator) -> None:
        n, a = self.n_customers, self.n_accounts
        scen = self.scenarios
        start = np.maximum(self.created + 1.0, -HISTORY_DAYS)
        years = np.maximum(0.0, -3.0 - start) / 365.0
        pct_a = np.concatenate([self.pct, np.zeros(self.n_prospects)])
        lam = np.where(self.is_customer, (0.4 + 1.6 * pct_a) * years, 0.0)
        cnt = rng.poisson(lam)
        cnt[~self.is_customer] = 1 + rng.poisson(0.5, self.n_prospects)
        cnt[~np.isnan(self.deleted_t)] = 0
        acc = np.repeat(np.arange(a), cnt)
        k = acc.size
        is_p = ~self.is_customer[acc]
        created = np.where(
            is_p,
            _between(rng, np.maximum(start[acc], -300.0), -3.0),
            _between(rng, start[acc], -3.0),
        )
        duration = rng.uniform(20, 150, k)
        won = rng.random(k) < 0.5
        close_t = created + duration
        close_t[is_p & won] = np.nan  # prospects' promising deals are still open
        won[is_p] = False
        reason = _choice(rng, _LOST_REASONS, _LOST_P, k)
        comp = _COMPETITORS[rng.integers(_COMPETITORS.size, size=k)]
        has_comp = (reason == "competitor") | ((reason == "price") & (rng.random(k) < 0.3))
        prospect_usd = 60_000.0 * rng.lognormal(0, 1, self.n_prospects)
        pot_usd = np.concatenate([self.annual_usd, prospect_usd])
        amt_usd = pot_usd[acc] * rng.uniform(0.05, 0.35, k)

        # planted opportunities
        cl = scen["competitor_loss"]
        fg = scen["fast_growing_potential"]
        pr = scen["prospect"]
        fast_annual = self.annual_usd[fg] * 3.24
        extra = [
            # account, created, duration, won, reason, competitor, amount usd
            (cl, -130.0, 99.6, False, "competitor", "Globex Corporation", self.annual_usd[cl] / 2),
            (fg, -62.0, 80.0, True, "", "", fast_annual * 1.2),
            (fg, -45.0, 75.0, True, "", "", fast_annual * 1.2),
            (fg, -30.0, 70.0, True, "", "", fast_annual * 1.2),
            (pr, -90.0, 140.0, True, "", "", 120_000.0),
        ]
        e_acc = np.array([e[0] for e in extra])
        e_created = np.array([e[1] for e in extra]) + rng.uniform(0, 0.5, len(extra))
        e_dur = np.array([e[2] for e in extra])
        acc = np.concatenate([acc, e_acc])
        created = np.concatenate([created, e_created])
        duration = np.concatenate([duration, e_dur])
        close_t = np.concatenate([close_t, e_created + e_dur])
        close_t[-1] = np.nan
        won = np.concatenate([won, np.array([e[3] for e in extra])])
        reason = np.concatenate([reason, np.array([e[4] for e in extra])])
        comp = np.concatenate([comp, np.array([e[5] for e in extra])])
        has_comp = np.concatenate([has_comp, np.array([bool(e[5]) for e in extra])])
        amt_usd = np.concatenate([amt_usd, np.array([e[6] for e in extra])])

        # the competitor a won deal was up against (competitor_analysis: win rates), from a
        # generator of its own so that every other draw of the world stays what it was
        rng_won = np.random.default_rng([self.seed, 16])
        won_comp = _COMPETITORS[rng_won.integers(_COMPETITORS.size, size=acc.size)]
        won_named = rng_won.random(acc.size) < 0.35

        cur = np.concatenate([self.currency, np.array(
            [CURRENCIES.index(_COUNTRIES[c][2]) for c in self.country[n:]], dtype=np.int64)])
        self.acc_currency = cur
        ocur = cur[acc]
        amount = amt_usd / self.rate(ocur, created)
        step = np.where(ocur == CURRENCIES.index("JPY"), 10_000.0, 100.0)
        amount = np.maximum(step, np.round(amount / step) * step)
        order = np.lexsort((acc, created))
        self.op_acc = acc[order]
        self.op_created = created[order]
        self.op_duration = duration[order]
        self.op_close = close_t[order]
        self.op_won = won[order]
        self.op_reason = np.where(won, "", reason)[order]
        self.op_comp = np.where(
            ~won & has_comp, comp, np.where(won & won_named, won_comp, "")
        )[order]
        self.op_amount = amount[order]
        self.op_cur = ocur[order]
        self.op_expected = np.floor(
            self.op_created + self.op_duration * rng.uniform(0.85, 1.05, order.size)
        )

    # ------------------------------------------------------------------ tickets
    def _build_tickets(self, rng: np.random.Generator) -> None:
        n = self.n_customers
        years = np.maximum(0.0, self.order_end - self.order_start) / 365.0
        cnt = rng.poisson((0.4 + 2.5 * self.pct) * years)
        cust = np.repeat(np.arange(n), cnt)
        k = cust.size
        opened = _day_time(rng, _between(rng, self.order_start[cust], self.order_end[cust]))
        cat = rng.choice(3, size=k, p=[0.15, 0.55, 0.30])
        pri_idx = rng.choice(4, size=k, p=[0.30, 0.45, 0.20, 0.05])
        median = np.array([10.0, 6.0, 3.0, 1.0])[pri_idx]
        cap = np.where(pri_idx >= 2, 20.0, 60.0)
        res = np.minimum(median * rng.lognormal(0, 0.8, k), cap)
        inprog = opened + np.minimum(rng.uniform(0.02, 1.0, k), 0.5 * res)
        resolved = opened + res
        closed = resolved + rng.uniform(1, 7, k)
        uc = self.scenarios["unresolved_complaint"]
        o = -45.0 + rng.uniform(0.3, 0.6)
        cust = np.append(cust, uc)
        opened = np.append(opened, o)
        inprog = np.append(inprog, o + 0.8)
        resolved = np.append(resolved, np.nan)
        closed = np.append(closed, np.nan)
        cat = np.append(cat, _TICKET_CATEGORIES.index("complaint"))
        pri = np.append(pri_idx, _PRIORITIES.index("high"))
        order = np.lexsort((cust, opened))
        self.t_acc, self.t_opened, self.t_inprog = cust[order], opened[order], inprog[order]
        self.t_resolved, self.t_closed = resolved[order], closed[order]
        self.t_cat, self.t_pri = cat[order], pri[order]

    # ------------------------------------------------------------------ surveys
    def _build_surveys(self, rng: np.random.Generator) -> None:
        n = self.n_customers
        years = np.maximum(0.0, self.order_end - self.order_start) / 365.0
        cnt = rng.poisson((0.5 + 2.0 * self.pct) * years)
        acc = np.repeat(np.arange(n), cnt)
        k = acc.size
        contact = _group_uniform_pick(rng, self.c_first[acc], self.c_count[acc])
        lo = np.maximum(self.c_created[contact], self.order_start[acc])
        hi = np.fmin(self.c_left[contact], self.order_end[acc])
        keep = hi > lo + 1
        acc, contact, lo, hi = acc[keep], contact[keep], lo[keep], hi[keep]
        t = _day_time(rng, _between(rng, lo, hi - 1))
        k = t.size
        sat = self.satisfaction[acc].copy()
        unhappy = np.isin(acc, [self.scenarios[s] for s in (
            "declining_key_account", "unresolved_complaint", "competitor_loss")])
        sat[unhappy & (t > -180)] -= 3.5
        is_nps = rng.random(k) < 0.5
        nps = np.clip(np.round(sat + rng.normal(0, 1.2, k)), 0, 10)
        csat = np.clip(np.round(1 + sat / 10 * 4 + rng.normal(0, 0.5, k)), 1, 5)
        order = np.lexsort((acc, t))
        self.s_acc, self.s_contact, self.s_t = acc[order], contact[order], t[order]
        self.s_type = np.where(is_nps, 0, 1)[order]
        self.s_score = np.where(is_nps, nps, csat).astype(np.int64)[order]

    # ------------------------------------------------------------------ snapshot
    def snapshot(
        self, as_of: date, offsets: Mapping[str, int] | None = None
    ) -> dict[str, dict[str, pa.Array]]:
        """Every entity as known at the end of ``as_of`` (UTC), as Arrow arrays; the IDs of
        each prefix (``"ACC-"``, ...) are moved up by ``offsets[prefix]`` (see
        :meth:`id_counts`)."""
        off = {} if offsets is None else offsets

        def _id(prefix: str, index: Array, width: int, valid: Array | None = None) -> pa.Array:
            return _ids(prefix, np.asarray(index, dtype=np.int64) + off.get(prefix, 0), width,
                        valid)
        end = float((as_of - self.anchor).days + 1)
        epoch_day = (self.anchor - date(1970, 1, 1)).days

        def ts(t: Array) -> pa.Array:
            t = np.asarray(t, dtype=float)
            secs = np.floor(np.nan_to_num(t) * 86400.0).astype(np.int64) + epoch_day * 86400
            return pa.array(secs, type=pa.timestamp("s", tz="UTC"), mask=np.isnan(t))

        def day(t: Array) -> pa.Array:
            return pa.array((np.floor(t).astype(np.int64) + epoch_day).astype(np.int32),
                            type=pa.date32())

        def known(t: Array) -> Array:
            return np.flatnonzero(np.asarray(t < end))

        def upto(t: Array) -> Array:
            """``t`` where it happened by ``as_of``, else NaN."""
            return np.where(t < end, t, np.nan)

        cur = _labels(CURRENCIES)
        n = self.n_customers
        tables: dict[str, dict[str, pa.Array]] = {}

        # owners
        owner_active = ~(self.owner_deact < end)
        tables["crm/owners"] = {
            "owner_id": _id("OWN-", np.arange(self.n_owners), 3),
            "full_name": _text(self.owner_name), "email": _text(self.owner_email),
            "manager_email": _text(self.owner_manager), "locale": _text(self.owner_locale),
            "is_active": pa.array(owner_active),
        }  # fmt: skip
        # the owner directory (by e-mail, as an HR export has it): the same managers and
        # locales as the owners export, plus the team; on HubSpot it is their only source
        tables["crm/owner_directory"] = {
            "owner_id": pa.nulls(self.n_owners, pa.string()),
            "email": _text(self.owner_email), "manager_email": _text(self.owner_manager),
            "locale": _text(self.owner_locale), "team": _text(self.owner_team),
        }  # fmt: skip

        # accounts
        ka = known(self.created)
        changed = self.change_t[ka] < end
        owner = np.where(changed, self.new_owner[ka], self.initial_owner[ka])
        assigned = np.where(changed, self.change_t[ka], self.created[ka])
        upd = np.fmax.reduce([
            self.created[ka], upto(self.profile_t[ka]), np.where(changed, assigned, np.nan),
            upto(self.deleted_t[ka]),
        ])
        erp_known = np.zeros(ka.size, dtype=bool)
        is_c = ka < n
        erp_known[is_c] = self.erp_created[ka[is_c]] < end
        parent = self.parent[ka]
        tables["crm/accounts"] = {
            "account_id": _id("ACC-", ka, 7), "account_name": _text(self.account_name[ka]),
            "industry": _labels(_INDUSTRIES)(self.industry[ka]),
            "region": _text(self.region[ka]), "country": _text(self.country_code[ka]),
            "employee_count": pa.array(self.employee_count[ka]),
            "owner_id": _id("OWN-", owner, 3),
            "parent_account_id": _id("ACC-", np.maximum(parent, 0), 7, valid=parent >= 0),
            "erp_customer_id": _id("CUS-", np.minimum(ka, n - 1), 7, valid=erp_known),
            "created_at": ts(self.created[ka]), "updated_at": ts(upd),
            "is_deleted": pa.array(self.deleted_t[ka] < end), "owner_assigned_at": ts(assigned),
        }  # fmt: skip

        # contacts
        kc = known(self.c_created)
        tables["crm/contacts"] = {
            "contact_id": _id("CON-", kc, 8), "account_id": _id("ACC-", self.c_acc[kc], 7),
            "full_name": _text(self.c_name[kc]), "role": _text(self.c_role[kc]),
            "is_decision_maker": pa.array(self.c_dm[kc]),
            "is_active": pa.array(~(self.c_left[kc] < end)),
            "updated_at": ts(np.fmax.reduce([
                self.c_created[kc], upto(self.c_profile_t[kc]), upto(self.c_left[kc])])),
        }  # fmt: skip

        # activities
        kv = known(self.a_t)
        tables["crm/activities"] = {
            "activity_id": _id("ACT-", kv, 9), "account_id": _id("ACC-", self.a_acc[kv], 7),
            "owner_id": _id("OWN-", self.a_owner[kv], 3),
            "activity_type": _labels(_ACTIVITY_TYPES)(self.a_type[kv]),
            "occurred_at": ts(self.a_t[kv]),
        }  # fmt: skip

        # opportunities
        ko = known(self.op_created)
        closed = self.op_close[ko] < end
        frac = np.clip((end - self.op_created[ko]) / self.op_duration[ko], 0.0, 0.999)
        stage_i = np.floor(frac * 4).astype(np.int64)
        won = self.op_won[ko] & closed
        lost = closed & ~won
        stage = np.where(closed, np.where(won, 5, 4), stage_i)
        prob = np.where(closed, np.where(won, 1.0, 0.0), _STAGE_P[stage_i])
        o_upd = np.where(
            closed, self.op_close[ko], self.op_created[ko] + self.op_duration[ko] * stage_i / 4
        )
        reason = self.op_reason[ko]
        comp = self.op_comp[ko]
        tables["crm/opportunities"] = {
            "opportunity_id": _id("OPP-", ko, 8), "account_id": _id("ACC-", self.op_acc[ko], 7),
            "stage": _labels((*_STAGES, "closed_lost", "closed_won"))(stage),
            "amount": pa.array(self.op_amount[ko]), "currency": cur(self.op_cur[ko]),
            "probability": pa.array(prob), "expected_close_date": day(self.op_expected[ko]),
            "closed_at": ts(np.where(closed, self.op_close[ko], np.nan)),
            "is_won": pa.array(won),
            "lost_reason": _text(reason, valid=lost & (reason != "")),
            "competitor": _text(comp, valid=closed & (comp != "")),
            "updated_at": ts(o_upd),
        }  # fmt: skip

        # tickets
        kt = known(self.t_opened)
        status = np.select(
            [self.t_closed[kt] < end, self.t_resolved[kt] < end, self.t_inprog[kt] < end],
            [3, 2, 1], 0,
        )
        tables["crm/tickets"] = {
            "ticket_id": _id("TIC-", kt, 8), "account_id": _id("ACC-", self.t_acc[kt], 7),
            "category": _labels(_TICKET_CATEGORIES)(self.t_cat[kt]),
            "priority": _labels(_PRIORITIES)(self.t_pri[kt]),
            "status": _labels(("open", "in_progress", "resolved", "closed"))(status),
            "opened_at": ts(self.t_opened[kt]), "resolved_at": ts(upto(self.t_resolved[kt])),
        }  # fmt: skip

        # surveys
        ks = known(self.s_t)
        tables["crm/surveys"] = {
            "response_id": _id("SRV-", ks, 8), "account_id": _id("ACC-", self.s_acc[ks], 7),
            "contact_id": _id("CON-", self.s_contact[ks], 8),
            "survey_type": _labels(("nps", "csat"))(self.s_type[ks]),
            "score": pa.array(self.s_score[ks]), "responded_at": ts(self.s_t[ks]),
        }  # fmt: skip

        # account plans (kam_transforms.demo_plans): drafted, then active, then closed
        pl = self.plans
        if pl is None:
            raise RuntimeError("plant the account plans (demo_data._plant) before exporting")
        kpl = known(pl.created)
        activated, closed_pl = pl.activated[kpl] < end, pl.closed[kpl] < end
        tables["crm/account_plans"] = {
            "plan_id": _id("PLN-", kpl, 6), "account_id": _id("ACC-", pl.acc[kpl], 7),
            "owner_id": _id("OWN-", pl.owner[kpl], 3),
            "period_start": day(pl.start[kpl]), "period_end": day(pl.end[kpl]),
            "revenue_target": pa.array(pl.revenue[kpl]), "margin_target": pa.array(pl.margin[kpl]),
            "currency": cur(pl.currency[kpl]), "objective": _text(pl.objective[kpl]),
            "status": _labels(("draft", "active", "closed"))(
                np.where(closed_pl, 2, np.where(activated, 1, 0))),
            "updated_at": ts(np.fmax.reduce([
                pl.created[kpl], upto(pl.activated[kpl]), upto(pl.closed[kpl])])),
        }  # fmt: skip

        # customers
        kcu = known(self.erp_created)
        tables["erp/customers"] = {
            "customer_id": _id("CUS-", kcu, 7), "customer_name": _text(self.account_name[kcu]),
            "tax_id": _text(self.tax_id[kcu]), "currency": cur(self.currency[kcu]),
            "payment_terms_days": pa.array(self.terms[kcu]),
            "credit_limit": pa.array(self.credit_limit[kcu]),
            "created_at": ts(self.erp_created[kcu]),
            "updated_at": ts(np.fmax(self.erp_created[kcu], upto(self.erp_profile_t[kcu]))),
        }  # fmt: skip

        tables["erp/products"] = {
            "product_id": _id("PRD-", np.arange(self.n_products), 5),
            "product_name": _text(self.product_name), "category": _text(self.product_category),
            "unit_cost": pa.array(self.unit_cost_usd),
            "currency": cur(np.zeros(self.n_products, dtype=np.int64)),
        }  # fmt: skip

        # orders and lines
        kord = known(self.o_t)
        canc = self.o_cancel_t[kord] < end
        deliv = self.o_deliver_t[kord] < end
        tables["erp/orders"] = {
            "order_id": _id("ORD-", kord, 9), "customer_id": _id("CUS-", self.o_cust[kord], 7),
            "order_date": day(self.o_t[kord]), "currency": cur(self.o_cur[kord]),
            "status": _labels(("confirmed", "delivered", "cancelled"))(
                np.where(canc, 2, np.where(deliv, 1, 0))),
            "updated_at": ts(np.fmax.reduce([
                self.o_t[kord], upto(self.o_cancel_t[kord]), upto(self.o_deliver_t[kord])])),
        }  # fmt: skip
        kl = known(self.o_t[self.l_order])
        tables["erp/order_lines"] = {
            "order_line_id": _id("OLN-", kl, 10), "order_id": _id("ORD-", self.l_order[kl], 9),
            "product_id": _id("PRD-", self.l_prod[kl], 5), "quantity": pa.array(self.l_qty[kl]),
            "unit_price": pa.array(self.l_price[kl]), "discount_pct": pa.array(self.l_disc[kl]),
            "unit_cost": pa.array(self.l_cost[kl]),
        }  # fmt: skip

        # invoices and payments
        ki = known(self.i_t)
        kp = known(self.p_t)
        paid = np.bincount(self.p_inv[kp], weights=self.p_amount[kp], minlength=self.n_invoices)
        last_pay = np.full(self.n_invoices, np.nan)
        np.fmax.at(last_pay, self.p_inv[kp], self.p_t[kp])
        amt = self.i_amount[ki]
        full = paid[ki] >= amt - 0.005
        overdue = ~full & (self.i_due_day[ki] + 1 < end)
        i_status = np.where(full, 3, np.where(overdue, 2, np.where(paid[ki] > 0, 1, 0)))
        i_upd = np.fmax.reduce([
            self.i_t[ki], last_pay[ki], np.where(overdue, self.i_due_day[ki] + 1, np.nan)])
        tables["erp/invoices"] = {
            "invoice_id": _id("INV-", ki, 9), "customer_id": _id("CUS-", self.i_cust[ki], 7),
            "order_id": _id("ORD-", self.i_order[ki], 9), "invoice_date": day(self.i_t[ki]),
            "due_date": day(self.i_due_day[ki]), "amount": pa.array(amt),
            "currency": cur(self.i_cur[ki]),
            "status": _labels(("open", "partially_paid", "overdue", "paid"))(i_status),
            "updated_at": ts(i_upd),
        }  # fmt: skip
        tables["erp/payments"] = {
            "payment_id": _id("PAY-", kp, 9), "invoice_id": _id("INV-", self.p_inv[kp], 9),
            "paid_at": ts(self.p_t[kp]), "amount": pa.array(self.p_amount[kp]),
            "currency": cur(self.i_cur[self.p_inv[kp]]),
        }  # fmt: skip

        # fx
        n_days = min(self.fx.shape[1], int(end) - self.fx_day0)
        cur_i = np.repeat(np.arange(len(CURRENCIES)), n_days)
        d = np.tile(np.arange(n_days), len(CURRENCIES))
        tables["erp/fx_rates"] = {
            "currency": cur(cur_i), "rate_date": day(d + self.fx_day0),
            "rate_to_base": pa.array(self.fx[cur_i, d]),
        }

        for name, cols in tables.items():
            if tuple(cols) != CANONICAL_COLUMNS[name]:
                raise RuntimeError(f"{name}: columns {tuple(cols)} are not canonical")
        return tables

    def scenario_manifest(self, as_of: date, texts: Mapping[str, str]) -> dict[str, Any]:
        end = float((as_of - self.anchor).days + 1)
        out: dict[str, Any] = {}
        for name in SCENARIO_NAMES:
            i = self.scenarios[name]
            if not self.created[i] < end:
                continue
            owner = int(self.owner_at(np.array([i]), np.array([end]))[0])
            out[name] = {
                "account_id": f"ACC-{i + 1:07d}",
                "customer_id": (
                    f"CUS-{i + 1:07d}"
                    if i < self.n_customers and self.erp_created[i] < end else None
                ),
                "owner_id": f"OWN-{owner + 1:03d}",
                "owner_email": str(self.owner_email[owner]),
                "account_name": str(self.account_name[i]),
                "description": _SCENARIO_TEXT.get(name) or texts[name],
            }
        return out
