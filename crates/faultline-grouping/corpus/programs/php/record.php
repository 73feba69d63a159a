<?php
// shift-point
// Records the shop's bugs as corpus events: `php record.php DEPLOY SEED`.
//
// Every (bug, entry point) case runs once; the exception an entry point lets
// escape is recorded with get_class(), getMessage() and (string) $e, which
// prints previous exceptions first and each wrapper after a `Next` line.
declare(strict_types=1);

foreach (glob(__DIR__ . '/src/*.php') as $file) {
    require_once $file;
}

const ALL = ['api.create', 'api.update', 'job.sync', 'cli.import'];
const WITH_BODY = ['api.create', 'api.update', 'cli.import'];
const PLACING = ['api.create', 'job.sync', 'cli.import'];

/** bug id => [entry points that reach it, how the input is broken] */
function bugs(): array
{
    // shift-point
    return [
        'order-json' => [WITH_BODY, fn (&$o) => ['body', sprintf('{"id": "%s", "qty": %d,', $o['id'], mt_rand(1, 9))]],
        'settings-json' => [ALL, fn (&$o) => ['settings', sprintf("{'currency': '%s'}", mt_rand(0, 1) ? 'EUR' : 'USD')]],
        'items-json' => [ALL, function (&$o) { $o['items'] = sprintf("[{sku: 'SKU-%d', qty: %d}]", mt_rand(1, 2), mt_rand(1, 5)); }],
        'qty-invalid' => [ALL, function (&$o) { $o['qty'] = -mt_rand(1, 50); }],
        'email-invalid' => [ALL, function (&$o) { $o['email'] = sprintf('user%d.at.example.com', mt_rand(1, 999)); }],
        'customer-missing' => [ALL, function (&$o) { $o['customer_id'] = 'cus_' . mt_rand(1000, 9999); }],
        'inventory-unknown-sku' => [ALL, function (&$o) { $o['sku'] = sprintf('SKU-%d-X', mt_rand(100, 999)); }],
        'category-cycle' => [PLACING, function (&$o) { $o['category'] = mt_rand(0, 1) ? 'loop-a' : 'loop-b'; }],
        'payment-gateway' => [ALL, function (&$o) { $o['card'] = 'tok_live_' . bin2hex(pack('N', mt_rand())); }],
        'ship-date' => [PLACING, function (&$o) { $o['ship_date'] = sprintf('%d/%d/01', mt_rand(2024, 2026), mt_rand(13, 19)); }],
    ];
}

function uuid(): string
{
    return sprintf('%08x-%04x-4%03x-a%03x-%012x', mt_rand(), mt_rand(0, 0xffff), mt_rand(0, 0xfff), mt_rand(0, 0xfff), mt_rand() * 4096 + mt_rand(0, 4095));
}

function run(string $entry, App\Orders $orders, string $settings, array $order, string $body): mixed
{
    // shift-point
    $request = ['headers' => ['x-tenant-settings' => $settings], 'body' => $body];
    return match ($entry) {
        'api.create' => (new App\Api($orders))->handleCreateOrder($request),
        'api.update' => (new App\Api($orders))->handleUpdateOrder($request),
        'job.sync' => (new App\Jobs($orders))->nightlySync(['config' => $settings, 'rows' => [$order]]),
        default => App\Cli::importCommand($orders, ['shop', 'import', $settings, $body]),
    };
}

[, $deploy, $seed] = $argv;
foreach (bugs() as $bug => [$entries, $breaker]) {
    foreach ($entries as $entry) {
        mt_srand(crc32("$seed/$bug/$entry"));
        $customer = 'cus_' . mt_rand(10, 99);
        $orders = new App\Orders(
            new App\Customers([$customer => new App\Customer($customer, "$customer@example.com")]),
            new App\Inventory(['SKU-1' => 100, 'SKU-2' => 5]),
            ['shoes' => 'apparel', 'loop-a' => 'loop-b', 'loop-b' => 'loop-a'],
        );
        $order = [
            'id' => uuid(), 'qty' => mt_rand(1, 4), 'email' => "$customer@example.com", 'customer_id' => $customer,
            'sku' => mt_rand(0, 1) ? 'SKU-1' : 'SKU-2', 'category' => 'shoes', 'amount' => mt_rand(5, 500),
            'card' => 'tok_test_visa', 'ship_date' => '2024-05-0' . mt_rand(1, 9),
            'items' => json_encode([['sku' => 'SKU-1', 'qty' => mt_rand(1, 3)]]),
        ];
        $settings = json_encode(['currency' => 'EUR', 'tenant' => $customer]);
        $broken = $breaker($order);
        $body = json_encode($order);
        if (is_array($broken) && $broken[0] === 'body') {
            $body = $broken[1];
        }
        if (is_array($broken) && $broken[0] === 'settings') {
            $settings = $broken[1];
        }
        try {
            run($entry, $orders, $settings, $order, $body);
        } catch (Throwable $e) {
            echo json_encode([
                'label' => "php/$bug",
                'language' => 'php',
                'type' => get_class($e),
                'message' => $e->getMessage(),
                'stacktrace' => (string) $e,
                'service' => 'corpus-php',
                'entry' => $entry,
                'deploy' => $deploy,
            ], JSON_UNESCAPED_SLASHES), "\n";
            continue;
        }
        fwrite(STDERR, "$bug via $entry did not fail\n");
        exit(1);
    }
}
