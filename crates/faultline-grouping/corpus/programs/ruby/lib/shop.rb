# shift-point
# A tiny shop whose bugs feed Faultline's grouping corpus.
require_relative "shop/errors"
require_relative "shop/settings"
require_relative "shop/accounts"
require_relative "shop/customers"
require_relative "shop/inventory"
require_relative "shop/catalog"
require_relative "shop/payments"
require_relative "shop/shipping"
require_relative "shop/orders"
require_relative "shop/api"
require_relative "shop/jobs"
require_relative "shop/cli"
