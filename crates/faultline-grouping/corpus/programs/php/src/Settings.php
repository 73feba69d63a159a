<?php
// shift-point
declare(strict_types=1);

namespace App;

final class Settings
{
    public static function read(string $raw): array
    {
        // shift-point
        $settings = json_decode($raw, true, 512, JSON_THROW_ON_ERROR);
        // shift-point
        return $settings + ['currency' => 'EUR'];
    }
}
