"""Request handlers, one module per API family, each `async def handle_x(ctx, request) -> response`."""
