<?php
// shift-point
declare(strict_types=1);

namespace App;

class InventoryException extends \RuntimeException
{
}

class PaymentException extends \RuntimeException
{
}
