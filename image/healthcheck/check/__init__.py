"""What to check and how: the target model, requests, expectations, secrets, the probe and the runner."""
