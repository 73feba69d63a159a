# shift-point
module Shop
  class InventoryError < StandardError; end
  class PaymentError < StandardError; end
end
