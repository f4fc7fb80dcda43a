# plugins/example_channel: the documented skeleton channel (see docs/plugin-guide.md).
