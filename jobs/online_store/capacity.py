"""From one write-rate cap to partitions, requests in flight and a per-partition rate.

An operator bounds the write capacity a run consumes with `online_store.write_rate_cap` (items per
second across the whole job). One in-flight BatchWriteItem stream sustains about
`ITEMS_PER_REQUEST_STREAM` items/s (25 items per ~12 ms round trip: measured against dynalite on a
2-core machine and close to DynamoDB's usual latency), so the cap needs
`ceil(cap / ITEMS_PER_REQUEST_STREAM)` concurrent requests. They are spread over as few partitions
as possible given `max_in_flight_per_partition`, never more partitions than the cluster runs at
once (a partition waiting for a slot would leave its share of the cap unused), and each partition
holds itself to `cap / partitions` items/s with a token bucket, so the job never exceeds the cap.
"""

from __future__ import annotations

import dataclasses
import math

ITEMS_PER_REQUEST_STREAM = 2000


@dataclasses.dataclass(frozen=True)
class WritePlan:
    partitions: int
    in_flight_per_partition: int
    items_per_second_per_partition: float

    @property
    def concurrent_requests(self) -> int:
        return self.partitions * self.in_flight_per_partition


def plan_writes(*, write_rate_cap: int, max_in_flight_per_partition: int, task_slots: int) -> WritePlan:
    """The write layout for a cap (items/s), a per-partition in-flight limit and the cluster's task slots."""
    if write_rate_cap < 1:
        raise ValueError(f"online_store.write_rate_cap must be at least 1 item/s, got {write_rate_cap}")
    if max_in_flight_per_partition < 1:
        raise ValueError(
            f"online_store.max_in_flight_per_partition must be at least 1, got {max_in_flight_per_partition}"
        )
    streams = math.ceil(write_rate_cap / ITEMS_PER_REQUEST_STREAM)
    partitions = max(1, min(math.ceil(streams / max_in_flight_per_partition), task_slots))
    in_flight = max(1, min(max_in_flight_per_partition, math.ceil(streams / partitions)))
    return WritePlan(
        partitions=partitions,
        in_flight_per_partition=in_flight,
        items_per_second_per_partition=write_rate_cap / partitions,
    )
