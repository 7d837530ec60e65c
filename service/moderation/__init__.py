"""The domain: submit and decide (operations), site rules and policy, word lists, campaigns,
site settings, the webhook outbox and the feedback loop's serving half."""
