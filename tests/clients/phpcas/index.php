<?php
// A phpCAS application set up as phpCAS's own examples do (CAS 3.0 protocol, the CAS server's
// CA certificate checked, single logout handled and accepted only from the server's address).
// The test gives the CAS server and this application's address in the environment.
require_once 'CAS.php';

phpCAS::client(
    CAS_VERSION_3_0,
    getenv('CAS_HOST'),
    (int) getenv('CAS_PORT'),
    '/cas',
    getenv('SERVICE_BASE_URL')
);
phpCAS::setCasServerCACert(getenv('CAS_CA_CERT'), true);
phpCAS::handleLogoutRequests(true, array(getenv('CAS_HOST')));
if (isset($_GET['logout'])) {
    // The application's sign-out link: phpCAS ends its session and sends the browser to the
    // CAS server's logout, which comes back to bye.php.
    phpCAS::logoutWithRedirectService(getenv('SERVICE_BASE_URL') . '/bye.php');
}
phpCAS::forceAuthentication();

header('Content-Type: application/json');
echo json_encode(array(
    'user' => phpCAS::getUser(),
    'attributes' => phpCAS::getAttributes(),
));
