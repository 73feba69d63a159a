# shift-point
require "time"

module Shop
  module Shipping
    def self.parse_ship_date(text)
      # shift-point
      Time.strptime(text, "%Y-%m-%d")
    end
  end
end
