<?php
// shift-point
declare(strict_types=1);

namespace App;

/** A command-line entry point: `shop import SETTINGS_JSON ORDER_JSON`. */
final class Cli
{
    public static function importCommand(Orders $orders, array $argv): string
    {
        // shift-point
        [, , $settingsJson, $orderJson] = $argv;
        Settings::read($settingsJson);
        // shift-point
        $order = Orders::parseOrderPayload($orderJson);
        // shift-point
        return $orders->placeOrder($order);
    }
}
