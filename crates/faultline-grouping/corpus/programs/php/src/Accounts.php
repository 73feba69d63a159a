<?php
// shift-point
declare(strict_types=1);

namespace App;

final class Accounts
{
    public static function checkEmail(string $email): string
    {
        // shift-point
        if (!preg_match('/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/', $email)) {
            // shift-point
            throw new \InvalidArgumentException(sprintf('invalid email address "%s"', $email));
        }
        return strtolower($email);
    }
}
