# shift-point
module Shop
  # A command-line entry point: `shop import SETTINGS_JSON ORDER_JSON`.
  module Cli
    def self.import_command(ctx, argv)
      # shift-point
      _, _, settings_json, order_json = argv
      Settings.read(settings_json)
      # shift-point
      order = Orders.parse_order_payload(order_json)
      # shift-point
      Orders.place_order(ctx, order)
    end
  end
end
