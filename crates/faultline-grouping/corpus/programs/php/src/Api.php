<?php
// shift-point
declare(strict_types=1);

namespace App;

/** HTTP-handler-like entry points. */
final class Api
{
    public function __construct(private Orders $orders)
    {
    }

    private function tenantSettings(array $request): array
    {
        // shift-point
        return Settings::read($request['headers']['x-tenant-settings']);
    }

    public function handleCreateOrder(array $request): array
    {
        // shift-point
        $this->tenantSettings($request);
        $order = Orders::parseOrderPayload($request['body']);
        // shift-point
        return ['status' => 201, 'ship' => $this->orders->placeOrder($order)];
    }

    public function handleUpdateOrder(array $request): array
    {
        // shift-point
        $this->tenantSettings($request);
        // shift-point
        $patch = Orders::parseOrderPayload($request['body']);
        return ['status' => 200, 'charge' => $this->orders->amendOrder($patch)];
    }
}
