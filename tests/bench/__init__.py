"""The scale benchmark's own parts: the meter that bills calls as DynamoDB does, and the cost model."""
