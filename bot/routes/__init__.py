"""HTTP routes, one module per area. Each module defines `routes(services) -> list[BaseRoute]`;
every module in this package is mounted by `bot.app.create_app`."""
