# shift-point
module Shop
  module Customers
    def self.load_customer(customers, customer_id)
      # shift-point
      email = customers[customer_id][:email]
      # shift-point
      { id: customer_id, email: email }
    end
  end
end
