# shift-point
module Shop
  # HTTP-handler-like entry points.
  class Api
    def initialize(ctx)
      @ctx = ctx
    end

    def handle_create_order(request)
      # shift-point
      tenant_settings(request)
      order = Orders.parse_order_payload(request[:body])
      # shift-point
      { status: 201, ship: Orders.place_order(@ctx, order) }
    end

    def handle_update_order(request)
      # shift-point
      tenant_settings(request)
      # shift-point
      patch = Orders.parse_order_payload(request[:body])
      { status: 200, charge: Orders.amend_order(@ctx, patch) }
    end

    private

    def tenant_settings(request)
      # shift-point
      Settings.read(request[:headers]["x-tenant-settings"])
    end
  end
end
