"""The networks the lab trains: torch modules only (batched MLP, our dropout, batched BN); no disk, no data."""
