"""Hash-based pseudo-random columns: the same (seed, salt, inputs) always give the same number.

`xxhash64` is Spark's built-in, so there is no Python on the data path and the values do not depend
on partitioning or execution order (unlike `F.rand`, which is seeded per partition).
"""

from __future__ import annotations

import math

from pyspark.sql import Column
from pyspark.sql import functions as F

_MANTISSA = float(2**53)


def uniform(seed: int, salt: str, *inputs: Column | str) -> Column:
    """A double uniform in the open interval (0, 1), from the top 53 bits of a 64-bit hash."""
    hashed = F.xxhash64(F.lit(seed), F.lit(salt), *inputs)
    return (F.shiftrightunsigned(hashed, 11).cast("double") + F.lit(0.5)) / F.lit(_MANTISSA)


def standard_normal(seed: int, salt: str, *inputs: Column | str) -> Column:
    """N(0, 1) by Box-Muller from two independent uniforms."""
    radius = F.sqrt(F.lit(-2.0) * F.log(uniform(seed, f"{salt}:r", *inputs)))
    return radius * F.cos(F.lit(2.0 * math.pi) * uniform(seed, f"{salt}:a", *inputs))


def lognormal(seed: int, salt: str, *inputs: Column | str, log_mean: float, log_sd: float) -> Column:
    return F.exp(F.lit(log_mean) + F.lit(log_sd) * standard_normal(seed, salt, *inputs))


def skewed_index(seed: int, salt: str, *inputs: Column | str, n: int, skew: float) -> Column:
    """An index in [0, n) where small indexes are much likelier: `floor(n * u**skew)` (a power law)."""
    return F.floor(F.lit(n) * F.pow(uniform(seed, salt, *inputs), F.lit(skew))).cast("long")


def uniform_index(seed: int, salt: str, *inputs: Column | str, n: int) -> Column:
    return F.floor(F.lit(n) * uniform(seed, salt, *inputs)).cast("long")


def exponential(seed: int, salt: str, *inputs: Column | str, mean: float) -> Column:
    return F.lit(-mean) * F.log(uniform(seed, salt, *inputs))
