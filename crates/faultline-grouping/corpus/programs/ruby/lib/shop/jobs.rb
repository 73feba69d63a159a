# shift-point
module Shop
  # A background job: nightly order sync.
  module Jobs
    def self.nightly_sync(ctx, batch)
      # shift-point
      Settings.read(batch[:config])
      # shift-point
      batch[:rows].map { |row| sync_row(ctx, row) }
    end

    def self.sync_row(ctx, row)
      # shift-point
      Orders.place_order(ctx, row)
    end
  end
end
