<?php
// shift-point
declare(strict_types=1);

namespace App;

/** The order service: what every entry point goes through. */
final class Orders
{
    public function __construct(private Customers $customers, private Inventory $inventory, private array $categories)
    {
    }

    public static function parseOrderPayload(string $raw): array
    {
        // shift-point
        $order = json_decode($raw, true, 512, JSON_THROW_ON_ERROR);
        // shift-point
        return $order;
    }

    /** Line items arrive as a JSON string inside the order (a form field). */
    public static function parseLineItems(array $order): array
    {
        // shift-point
        return json_decode($order['items'], true, 512, JSON_THROW_ON_ERROR);
    }

    public static function checkQuantity(string $orderId, int $qty): int
    {
        // shift-point
        if ($qty <= 0) {
            // shift-point
            throw new \InvalidArgumentException("quantity must be positive for order $orderId, got $qty");
        }
        return $qty;
    }

    public function placeOrder(array $order): string
    {
        // shift-point
        self::checkQuantity($order['id'], $order['qty']);
        self::parseLineItems($order);
        Accounts::checkEmail($order['email']);
        $customer = $this->customers->loadCustomer($order['customer_id']);
        // shift-point
        $this->inventory->reserve($order['sku'], $order['qty']);
        Catalog::categoryPath($this->categories, $order['category']);
        // shift-point
        Payments::charge($customer, $order['amount'], $order['card']);
        return Shipping::parseShipDate($order['ship_date'])->format('Y-m-d');
    }

    public function amendOrder(array $order): string
    {
        // shift-point
        $customer = $this->customers->loadCustomer($order['customer_id']);
        Accounts::checkEmail($order['email']);
        // shift-point
        self::checkQuantity($order['id'], $order['qty']);
        self::parseLineItems($order);
        $this->inventory->reserve($order['sku'], $order['qty']);
        // shift-point
        return Payments::charge($customer, $order['amount'], $order['card']);
    }
}
