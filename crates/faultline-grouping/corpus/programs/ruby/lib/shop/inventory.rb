# shift-point
module Shop
  module Inventory
    def self.reserve(stock, sku, qty)
      # shift-point
      level = stock.fetch(sku)
      stock[sku] = level - qty
    rescue KeyError
      # Raising inside rescue sets the KeyError as the new error's cause.
      # shift-point
      raise InventoryError, "cannot reserve #{qty} x #{sku}: unknown SKU"
    end
  end
end
