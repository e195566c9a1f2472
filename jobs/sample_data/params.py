"""The generator's knobs and the constants that shape the data (all derived values live here)."""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import math

from jobs.features.raw_rules import CHARGEBACK_RULES, TRANSACTION_RULES

SECONDS_PER_DAY = 86_400

# Shape of the data. Activity per user and per merchant follows `floor(n * u**skew)`: with skew 3 the
# top 1% of users hold about a fifth of all transactions.
USER_SKEW = 3.0
MERCHANT_SKEW = 2.5
FAVORITE_MERCHANT_SHARE = 0.5
FAVORITE_MERCHANTS_PER_USER = 3
AMOUNT_LOG_MEAN = math.log(45.0)
AMOUNT_LOG_SD = 0.9
NORMAL_LAG_MEAN_S = 90.0
LATE_SHARE = 0.03
LATE_MAX_DAYS = 3

# Fraud: one user in FRAUD_USER_EVERY is a fraudster, one merchant in RISKY_MERCHANT_EVERY is risky;
# BURST_SHARE of the transactions are fraud bursts of BURST_SIZE transactions within BURST_SPAN_S at
# risky merchants, with larger amounts.
FRAUD_USER_EVERY = 200
RISKY_MERCHANT_EVERY = 20
BURST_SHARE = 0.01
BURST_SIZE = 10
BURST_SPAN_S = 3 * 3600
BURST_AMOUNT_LOG_MEAN = math.log(180.0)
BURST_AMOUNT_LOG_SD = 0.7

# Chargebacks: probability per transaction, filed CHARGEBACK_MIN_DAYS to + CHARGEBACK_SPREAD_DAYS later.
CHARGEBACK_BASE_RATE = 0.002
CHARGEBACK_RISKY_MERCHANT_RATE = 0.04
CHARGEBACK_BURST_RATE = 0.35
CHARGEBACK_MIN_DAYS = 2
CHARGEBACK_SPREAD_DAYS = 40

# Labels: every burst transaction, and this share of the others.
LABEL_SAMPLE_RATE = 0.05

ROWS_PER_PARTITION = 1_000_000

# One kind of bad row per raw-row rule, in the rules' order: the generator breaks each rule.
TRANSACTION_BAD_KINDS = TRANSACTION_RULES
CHARGEBACK_BAD_KINDS = CHARGEBACK_RULES


@dataclasses.dataclass(frozen=True)
class SampleDataParams:
    users: int
    merchants: int
    days: int
    transactions: int
    start_date: dt.date
    seed: int
    bad_rows: int = 0

    def problems(self) -> list[str]:
        """Every reason these knobs cannot generate a data set (empty when they can)."""
        found = [f"--{name} must be at least 1, got {value}" for name, value in self._counts() if value < 1]
        if self.bad_rows < 0:
            found.append(f"--bad-rows must be 0 or more, got {self.bad_rows}")
        elif self.bad_rows > self.transactions // 2:
            found.append(
                f"--bad-rows {self.bad_rows} needs at least {2 * self.bad_rows} --transactions to copy "
                f"duplicates from, got {self.transactions}"
            )
        if not 0 <= self.seed < 2**31:
            found.append(f"--seed must be in [0, 2**31), got {self.seed}")
        if self.days >= 1 and self.end_date > dt.date(9000, 1, 1):
            found.append(f"--start-date {self.start_date} plus --days {self.days} runs past the year 9000")
        return found

    def _counts(self) -> list[tuple[str, int]]:
        return [
            ("users", self.users),
            ("merchants", self.merchants),
            ("days", self.days),
            ("transactions", self.transactions),
        ]

    @property
    def end_date(self) -> dt.date:
        """The last generated day: a feature run over the data ends here."""
        return self.start_date + dt.timedelta(days=self.days - 1)

    @property
    def start_epoch(self) -> int:
        return calendar.timegm(self.start_date.timetuple())

    @property
    def reference_epoch(self) -> int:
        """The reference instant of a run ending on the last day: end + 1 day, 00:00 UTC."""
        return self.start_epoch + self.days * SECONDS_PER_DAY

    @property
    def burst_transactions(self) -> int:
        return int(self.transactions * BURST_SHARE)

    @property
    def normal_transactions(self) -> int:
        return self.transactions - self.burst_transactions

    @property
    def fraud_user_stride(self) -> int:
        return min(FRAUD_USER_EVERY, self.users)

    @property
    def fraud_user_offset(self) -> int:
        return self.seed % self.fraud_user_stride

    @property
    def fraud_users(self) -> int:
        return (self.users - 1 - self.fraud_user_offset) // self.fraud_user_stride + 1

    @property
    def risky_merchant_stride(self) -> int:
        return min(RISKY_MERCHANT_EVERY, self.merchants)

    @property
    def risky_merchant_offset(self) -> int:
        return (self.seed // 7) % self.risky_merchant_stride

    @property
    def risky_merchants(self) -> int:
        return (self.merchants - 1 - self.risky_merchant_offset) // self.risky_merchant_stride + 1

    @property
    def bad_transaction_rows(self) -> int:
        return self.bad_rows * len(TRANSACTION_BAD_KINDS)

    @property
    def bad_chargeback_rows(self) -> int:
        return self.bad_rows * len(CHARGEBACK_BAD_KINDS)

    @property
    def id_digits(self) -> int:
        """Digits of transaction ids: room for the good rows, the bad rows and the unknown ids."""
        return max(8, len(str(self.transactions + self.bad_transaction_rows + self.bad_rows)))

    def partitions(self, minimum: int) -> int:
        return max(minimum, math.ceil(self.transactions / ROWS_PER_PARTITION))

    def user_id(self, index: int) -> str:
        """The id of user `index` (1-based), as the generated tables spell it."""
        return f"user_{index:0{max(3, len(str(self.users)))}d}"

    def merchant_id(self, index: int) -> str:
        return f"merch_{index:0{max(3, len(str(self.merchants)))}d}"

    def transaction_id(self, index: int) -> str:
        return f"txn_{index:0{self.id_digits}d}"

    def is_risky_merchant_index(self, index: int) -> bool:
        """Whether merchant `index` (1-based) is one of the risky merchants (for tests and reports)."""
        return (index - 1) % self.risky_merchant_stride == self.risky_merchant_offset

    def is_fraud_user_index(self, index: int) -> bool:
        return (index - 1) % self.fraud_user_stride == self.fraud_user_offset
