from feast import Entity, ValueType

user = Entity(
    name="user_id",
    join_keys=["user_id"],
    value_type=ValueType.STRING,
    description="Unique identifier for a user",
)

merchant = Entity(
    name="merchant_id",
    join_keys=["merchant_id"],
    value_type=ValueType.STRING,
    description="Unique identifier for a merchant",
)
