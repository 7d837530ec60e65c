<?php
/**
 * Plugin Name: Moderation service as Akismet
 * Description: Sends the Akismet plugin's API calls to a self-hosted moderation service
 *              instead of rest.akismet.com, and holds comments the service holds for review.
 * Version:     1.0.0
 * License:     Apache-2.0
 *
 * Install: copy this file to wp-content/mu-plugins/ (must-use plugins load first and cannot
 * be switched off from the admin screens), then in wp-config.php:
 *
 *     define( 'MODERATION_AKISMET_URL', 'https://moderation.example.vn' );
 *     define( 'WPCOM_API_KEY', 'sk-baotinh.xxxxxxxx' );   // the site's API key = the Akismet key
 *
 * The Akismet plugin itself stays installed and active; only its HTTP requests move.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Answer every request to rest.akismet.com (or <key>.rest.akismet.com, older plugin
 * versions) by sending the same request to the moderation service.
 */
add_filter(
	'pre_http_request',
	function ( $preempt, $args, $url ) {
		if ( false !== $preempt || ! defined( 'MODERATION_AKISMET_URL' ) ) {
			return $preempt;
		}
		$host = wp_parse_url( $url, PHP_URL_HOST );
		if ( ! is_string( $host ) || ! preg_match( '/(^|\.)rest\.akismet\.com$/i', $host ) ) {
			return $preempt;
		}
		$path   = (string) wp_parse_url( $url, PHP_URL_PATH );
		$query  = wp_parse_url( $url, PHP_URL_QUERY );
		$target = untrailingslashit( MODERATION_AKISMET_URL ) . $path . ( $query ? '?' . $query : '' );
		// Re-enters this filter with the service's host, which is not Akismet's: no loop.
		$response = wp_remote_request( $target, $args );
		if ( ! is_wp_error( $response ) && '/1.1/comment-check' === $path ) {
			// Akismet has no "hold" answer; the service says so in a header (see below).
			$GLOBALS['moderation_akismet_status'] = (string) wp_remote_retrieve_header( $response, 'x-moderation-status' );
		}
		return $response;
	},
	10,
	3
);

/**
 * Akismet checks a comment in `preprocess_comment`, before WordPress decides its status:
 * a comment the service holds for review goes to WordPress's own moderation queue.
 */
add_filter(
	'pre_comment_approved',
	function ( $approved, $commentdata ) {
		$status = isset( $GLOBALS['moderation_akismet_status'] ) ? $GLOBALS['moderation_akismet_status'] : '';
		unset( $GLOBALS['moderation_akismet_status'] );
		if ( 'pending' === $status && ( 1 === $approved || '1' === $approved ) ) {
			return 0;
		}
		return $approved;
	},
	100,
	2
);
