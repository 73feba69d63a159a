# shift-point
require "json"

module Shop
  # The order service: what every entry point goes through.
  module Orders
    def self.parse_order_payload(raw)
      # shift-point
      order = JSON.parse(raw, symbolize_names: true)
      # shift-point
      order
    end

    # Line items arrive as a JSON string inside the order (a form field).
    def self.parse_line_items(order)
      # shift-point
      JSON.parse(order[:items])
    end

    # Quantities and amounts may arrive as text; Integer() is strict about it.
    def self.parse_quantity(order)
      # shift-point
      Integer(order[:qty])
    end

    def self.parse_amount(order)
      # shift-point
      Integer(order[:amount])
    end

    def self.check_quantity(order_id, qty)
      # shift-point
      if qty <= 0
        # shift-point
        raise ArgumentError, "quantity must be positive for order #{order_id}, got #{qty}"
      end
      qty
    end

    def self.place_order(ctx, order)
      # shift-point
      qty = check_quantity(order[:id], parse_quantity(order))
      parse_line_items(order)
      Accounts.check_email(order[:email])
      customer = Customers.load_customer(ctx[:customers], order[:customer_id])
      # shift-point
      Inventory.reserve(ctx[:stock], order[:sku], qty)
      Catalog.category_path(ctx[:categories], order[:category])
      # shift-point
      Payments.charge(customer, parse_amount(order), order[:card])
      Shipping.parse_ship_date(order[:ship_date])
    end

    def self.amend_order(ctx, order)
      # shift-point
      customer = Customers.load_customer(ctx[:customers], order[:customer_id])
      Accounts.check_email(order[:email])
      # shift-point
      qty = check_quantity(order[:id], parse_quantity(order))
      parse_line_items(order)
      Inventory.reserve(ctx[:stock], order[:sku], qty)
      # shift-point
      Payments.charge(customer, parse_amount(order), order[:card])
    end
  end
end
