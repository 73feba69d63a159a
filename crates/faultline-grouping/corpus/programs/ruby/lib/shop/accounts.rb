# shift-point
module Shop
  module Accounts
    EMAIL = /\A[^@\s]+@[^@\s]+\.[a-z]{2,}\z/

    def self.check_email(email)
      # shift-point
      unless EMAIL.match?(email)
        # shift-point
        raise ArgumentError, "invalid email address #{email.inspect}"
      end
      email.downcase
    end
  end
end
