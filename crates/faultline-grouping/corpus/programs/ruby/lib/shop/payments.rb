# shift-point
require "socket"

module Shop
  module Payments
    # Nothing listens on the discard port here, so live charges are refused.
    GATEWAY = ["127.0.0.1", 9].freeze

    def self.call_gateway(token, amount)
      # shift-point
      Socket.tcp(*GATEWAY, connect_timeout: 0.5) { |sock| sock.write("#{token}:#{amount}") }
    end

    def self.charge(customer, amount, card)
      # shift-point
      return "ch_test" if card[:token].start_with?("tok_test")

      begin
        call_gateway(card[:token], amount)
      rescue SystemCallError
        # shift-point
        raise PaymentError, "charge of #{amount} EUR for #{customer[:email]} failed"
      end
      "ch_live"
    end
  end
end
