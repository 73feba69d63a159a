<?php
// shift-point
declare(strict_types=1);

namespace App;

final class Shipping
{
    public static function parseShipDate(string $text): \DateTimeImmutable
    {
        // shift-point
        return new \DateTimeImmutable($text);
    }
}
