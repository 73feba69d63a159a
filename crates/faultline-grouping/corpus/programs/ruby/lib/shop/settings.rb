# shift-point
require "json"

module Shop
  module Settings
    def self.read(raw)
      # shift-point
      settings = JSON.parse(raw)
      # shift-point
      { "currency" => "EUR" }.merge(settings)
    end
  end
end
