# shift-point
# Records the shop's bugs as corpus events: `ruby record.rb DEPLOY SEED`.
#
# Every (bug, entry point) case runs once; the error an entry point lets
# escape is recorded as the OpenTelemetry Ruby SDK's record_exception does:
# class name, message, and full_message(highlight: false, order: :top).
require "json"
require "securerandom"
require_relative "lib/shop"

ALL = %w[api.create api.update job.sync cli.import].freeze
WITH_BODY = %w[api.create api.update cli.import].freeze
PLACING = %w[api.create job.sync cli.import].freeze

# bug id => [entry points that reach it, how the input is broken]
BUGS = {
  "order-json" => [WITH_BODY, ->(o, r) { [:body, %({"id": "#{o[:id]}", "qty": #{r.rand(1..9)},)] }],
  "settings-json" => [ALL, ->(_o, r) { [:settings, "{'currency': '#{%w[EUR USD].sample(random: r)}'}"] }],
  "items-json" => [ALL, ->(o, r) { o[:items] = "[{sku: 'SKU-#{r.rand(1..2)}', qty: #{r.rand(1..5)}}]" }],
  "qty-parse" => [ALL, ->(o, r) { o[:qty] = "#{r.rand(1..9)} pcs" }],
  "amount-parse" => [ALL, ->(o, r) { o[:amount] = "#{r.rand(1..99)},#{r.rand(10..99)}" }],
  "qty-invalid" => [ALL, ->(o, r) { o[:qty] = -r.rand(1..50) }],
  "email-invalid" => [ALL, ->(o, r) { o[:email] = "user#{r.rand(1..999)}.at.example.com" }],
  "customer-missing" => [ALL, ->(o, r) { o[:customer_id] = "cus_#{r.rand(1000..9999)}" }],
  "inventory-unknown-sku" => [ALL, ->(o, r) { o[:sku] = "SKU-#{r.rand(100..999)}-X" }],
  "category-cycle" => [PLACING, ->(o, r) { o[:category] = %w[loop-a loop-b].sample(random: r) }],
  "payment-gateway" => [ALL, ->(o, r) { o[:card] = { token: "tok_live_#{r.bytes(6).unpack1('H*')}" } }],
  "ship-date" => [PLACING, ->(o, r) { o[:ship_date] = "#{r.rand(2024..2026)}/#{r.rand(13..19)}/01" }],
}.freeze

def context(rng)
  # shift-point
  customer = "cus_#{rng.rand(10..99)}"
  ctx = {
    customers: { customer => { email: "#{customer}@example.com" } },
    stock: { "SKU-1" => 100, "SKU-2" => 5 },
    categories: { "shoes" => "apparel", "loop-a" => "loop-b", "loop-b" => "loop-a" },
  }
  order = {
    id: "#{rng.bytes(4).unpack1('H*')}-#{rng.bytes(2).unpack1('H*')}-4#{rng.bytes(2).unpack1('H*')[1..]}-a#{rng.bytes(2).unpack1('H*')[1..]}-#{rng.bytes(6).unpack1('H*')}",
    qty: rng.rand(1..4),
    email: "#{customer}@example.com",
    customer_id: customer,
    sku: %w[SKU-1 SKU-2].sample(random: rng),
    category: "shoes",
    amount: rng.rand(5..500),
    card: { token: "tok_test_visa" },
    ship_date: "2024-05-0#{rng.rand(1..9)}",
    items: JSON.generate([{ sku: "SKU-1", qty: rng.rand(1..3) }]),
  }
  [ctx, order, JSON.generate({ currency: "EUR", tenant: customer })]
end

def run(entry, ctx, order, settings, body)
  # shift-point
  headers = { "x-tenant-settings" => settings }
  case entry
  when "api.create" then Shop::Api.new(ctx).handle_create_order({ headers: headers, body: body })
  when "api.update" then Shop::Api.new(ctx).handle_update_order({ headers: headers, body: body })
  when "job.sync" then Shop::Jobs.nightly_sync(ctx, { config: settings, rows: [order] })
  else Shop::Cli.import_command(ctx, ["shop", "import", settings, body])
  end
end

deploy, seed = ARGV
BUGS.each do |bug, (entries, breaker)|
  entries.each do |entry|
    rng = Random.new("#{seed}/#{bug}/#{entry}".unpack1("H*").to_i(16))
    ctx, order, settings = context(rng)
    broken = breaker.call(order, rng)
    body = JSON.generate(order)
    body = broken[1] if broken.is_a?(Array) && broken[0] == :body
    settings = broken[1] if broken.is_a?(Array) && broken[0] == :settings
    begin
      run(entry, ctx, order, settings, body)
    rescue StandardError, SystemStackError => e
      puts JSON.generate({
        label: "ruby/#{bug}",
        language: "ruby",
        type: e.class.to_s,
        message: e.message,
        stacktrace: e.full_message(highlight: false, order: :top),
        service: "corpus-ruby",
        entry: entry,
        deploy: deploy,
      })
      next
    end
    abort "#{bug} via #{entry} did not fail"
  end
end
